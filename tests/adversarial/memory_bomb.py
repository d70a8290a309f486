# assignment: a3_adaptive
# target: adadelta_step
# expect-zero: adadelta_step
# expect-message: adadelta: MemoryError
import numpy as np


def adadelta_step(w, g, state, lr=1.0, rho=0.9, eps=1e-6):
    hoard = np.ones((1 << 20, 1 << 14))  # 128 GiB
    return w, state
