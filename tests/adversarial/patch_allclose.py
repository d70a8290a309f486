# assignment: a3_adaptive
# target: adam_step
# expect-zero: adam_step
# Monkeypatches every NumPy comparison the checks could use, then returns garbage.
import numpy as np

np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return w, state
