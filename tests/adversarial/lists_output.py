# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# expect-message: adagrad: expected dtype float32
# Returns Python lists instead of arrays: right values, but the float32 case must keep the
# input's dtype (as in the notebook), so 0 for adagrad.
import numpy as np


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    G = state["G"] + g * g
    return (w - lr * g / (np.sqrt(G) + eps)).tolist(), {"G": G}
