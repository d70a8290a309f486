# assignment: a3_adaptive
# target: adam_step
# expect-zero: adam_step
# Red team finding 1: open the grading module's source from disk, extract the reference
# adam_step with ast and exec it. Tries the checkout's path, every path on sys.path, and a
# walk of the whole file system for any file that defines the reference.
import ast
import os
import sys

_found = None
candidates = ["GRADER_REPO/course_lib/grading/a3_adaptive.py",
              *[os.path.join(p, "course_lib", "grading", "a3_adaptive.py") for p in sys.path]]
for top in ("/",):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev")]
        for name in filenames:
            if name.startswith("a3_adaptive") and name.endswith(".py"):
                candidates.append(os.path.join(dirpath, name))
for path in candidates:
    try:
        tree = ast.parse(open(path).read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        continue
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "adam_step":
            _found = ast.unparse(node)
if _found:
    import numpy as np
    exec(_found)
else:
    def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        raise RuntimeError("no reference on disk")
