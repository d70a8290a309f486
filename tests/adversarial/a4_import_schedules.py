# assignment: a4_adam_family
# target: sgdr_lr
# expect-zero: sgdr_lr
# expect-message: sgdr_schedule: course_lib.schedules
from course_lib import schedules


def sgdr_lr(k, lr, T_0, T_mult=1, eta_min=0.0):
    return schedules.cosine_warm_restarts(k, lr, T_0, T_mult, eta_min)
