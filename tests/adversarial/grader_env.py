# assignment: a3_adaptive
# target: add
# Correct answers; changes the grader's environment variables and seed file (it cannot:
# it runs in another process, and the seed file is hidden).  Full marks, nothing changed.
import os

os.environ["OPT4DL_GRADING_SEED"] = "0"
os.environ["PYTHONPATH"] = "/tmp/evil"
try:
    open("GRADER_ROOT/grading/grading_seed", "w").write("0\n")
except OSError:
    pass
