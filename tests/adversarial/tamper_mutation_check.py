# assignment: a3_adaptive
# target: adam_step
# expect-checks-zero: adam_contract
# Red team finding 3: in-place Adam that replaces the worker's own "did the call change its
# inputs" logic through the frames' globals. The grader now compares the arguments itself.
import sys

import numpy as np


def _never(*a, **k):
    return False


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    f = sys._getframe(1)
    while f is not None:
        for name in ("_changed", "_differs", "_changed_argument"):
            if name in f.f_globals:
                f.f_globals[name] = _never
        f = f.f_back
    state["t"] += 1
    state["m"] *= beta1
    state["m"] += (1 - beta1) * g
    state["v"] *= beta2
    state["v"] += (1 - beta2) * g * g
    t = state["t"]
    m_hat = state["m"] / (1 - beta1**t)
    v_hat = state["v"] / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), dict(state)
