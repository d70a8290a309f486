# assignment: a3_adaptive
# target: adam_step
# expect-checks-zero: adam_contract
# expect-message: adam_contract: dtype
# Right values, wrong types: float32 output for float64 input (and lists for the state).
import numpy as np


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    if w.dtype == np.float32:
        return w_new.astype(np.float64), {"m": m, "v": v, "t": t}
    return w_new, {"m": m, "v": v, "t": t}
