# assignment: a3_adaptive
# target: adagrad_step
# A correct answer that prints, warns and divides by zero on the side: full marks.
import warnings

import numpy as np


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    print("debug:", w, g)
    warnings.warn("this is only a warning", UserWarning)
    with np.errstate(all="warn"):
        np.log(np.zeros(1))
    G = state["G"] + g * g
    return w - lr * g / (np.sqrt(G) + eps), {"G": G}
