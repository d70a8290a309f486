# assignment: a1_gradient_descent
# target: numerical_gradient
# expect-checks-zero: numgrad numgrad_contract
# The grader's test function is called back with junk and its attributes are probed: it is
# a stub here, so nothing about the reference leaks; the answer is wrong.
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    for probe in ("B", "c", "__self__", "__globals__"):
        if hasattr(f, probe):
            return getattr(f, probe)
    try:
        f("junk")
    except Exception:
        pass
    return np.zeros_like(x)
