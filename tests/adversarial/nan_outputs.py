# assignment: a3_adaptive
# target: rmsprop_step
# expect-zero: rmsprop_step
# expect-message: rmsprop: expected a finite value
import numpy as np


def rmsprop_step(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    return np.full_like(w, np.nan), {"v": np.full_like(w, np.inf)}
