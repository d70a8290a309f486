# assignment: a3_adaptive
# target: adam_step
# expect-zero: adam_step
# Tries to read the instructor's solution notebook and run its adam_step.
import json

_found = None
for path in ["GRADER_ROOT/solutions/a3_adaptive/a3_adaptive.ipynb",
             "GRADER_REPO/solutions/a3_adaptive/a3_adaptive.ipynb"]:
    try:
        nb = json.load(open(path))
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if src.startswith("def adam_step"):
                _found = src
    except OSError:
        pass

if _found:
    exec(_found)
else:
    def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        raise RuntimeError("solutions are not readable")
