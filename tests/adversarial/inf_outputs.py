# assignment: a3_adaptive
# target: adadelta_step
# expect-zero: adadelta_step
import numpy as np


def adadelta_step(w, g, state, lr=1.0, rho=0.9, eps=1e-6):
    return w * np.inf, {"v": state["v"], "u": state["u"]}
