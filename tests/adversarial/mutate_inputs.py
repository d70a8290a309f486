# assignment: a3_adaptive
# target: adam_step
# expect-checks-zero: adam_contract
# expect-message: adam_contract: changed its input
# Updates the state in place (the catalogued adam_in_place mistake, which fails only the
# contract check).
import numpy as np


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    state["t"] += 1
    state["m"] *= beta1
    state["m"] += (1 - beta1) * g
    state["v"] *= beta2
    state["v"] += (1 - beta2) * g * g
    t = state["t"]
    m_hat = state["m"] / (1 - beta1**t)
    v_hat = state["v"] / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), dict(state)
