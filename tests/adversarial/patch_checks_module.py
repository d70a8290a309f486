# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# Tries to replace the checks themselves (the import is refused in the sandbox, and the
# checks never run there anyway).
try:
    import course_lib.grading.core as core
    core.first_mismatch = lambda *a, **k: None
    core.check_cases = lambda *a, **k: 1
except ImportError:
    pass


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    return w + 1.0, state
