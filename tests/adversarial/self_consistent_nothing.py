# assignment: a3_adaptive
# target: adam_step
# expect-checks-zero: adam_moments adam_update
# Red team finding 4: parameters unchanged with zero moments is "consistent" with itself;
# the update is graded against the reference now.
def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return w.copy(), {"m": 0 * w, "v": 0 * w, "t": state["t"] + 1}
