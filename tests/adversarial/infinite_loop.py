# assignment: a3_adaptive
# target: adam_step
# expect-zero: adam_step
# expect-message: adam_moments: time limit

def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    while True:
        pass
