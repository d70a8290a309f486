# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# Hunts the grader's objects in the worker's memory: there are none to find.
import gc


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__module__", "") == "course_lib.grading.a3_adaptive" \
                and getattr(obj, "__name__", "") == "adagrad_step":
            return obj(w, g, state, lr, eps)
    raise RuntimeError("no reference found")
