# assignment: a3_adaptive
# target: add
# expect-zero: adam_step
# expect-message: adam_update: course_lib.optim
# The reference imported in a separate cell and used by the answer: that answer scores 0,
# the others (which do not use it) keep their points.
from course_lib.optim import adam as _borrowed
# ---- answer adam_step


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _borrowed.step(w, g, state, lr=lr, betas=(beta1, beta2), eps=eps)
