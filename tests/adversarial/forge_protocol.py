# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# expect-message: adagrad: protocol
# Writes a forged "all correct" message straight into the result pipe.
import os
import sys


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    fd = int(sys.argv[-1])  # the worker's reply pipe
    os.write(fd, b'{"op": "result", "value": "all correct", "score": 100}' * 3)
    return w, state
