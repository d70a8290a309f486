# assignment: a3_adaptive
# target: adam_step
# expect-zero: adam_step
# expect-message: adam_moments: course_lib.optim
# Delegates to the course's reference implementation: static inspection gives 0.
from course_lib.optim import adam as _ref_adam


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _ref_adam.step(w, g, state, lr=lr, betas=(beta1, beta2), eps=eps)
