# assignment: a5_batchnorm
# target: layernorm_forward
# expect-zero: layernorm_forward
# expect-message: ln_forward: course_lib.layers
from course_lib.layers import layernorm_forward as _ln


def layernorm_forward(x, gamma, beta, ln_param):
    return _ln(x, gamma, beta, ln_param)
