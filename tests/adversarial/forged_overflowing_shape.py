# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# max-seconds: 120
# A forged reply whose arrays claim shapes the decoder cannot size: [2**32, 2**32] (the
# int64 product wraps to 0, matching an empty buffer) and [2**64] (np.prod overflows).
# Neither may allocate, crash or hang the grader; only this function's parts score 0.
import json
import os
import struct
import sys

SHAPES = [[2**32, 2**32], [2**64], [2**62, 4, 0, 2**40]]
CALLS = [0]


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    shape = SHAPES[CALLS[0] % len(SHAPES)]
    CALLS[0] += 1
    node = {"t": "nd", "i": 0, "d": "<f8", "s": shape}
    head = json.dumps({"op": "result", "value": {"t": "tuple", "v": [node, {"t": "dict", "v": []}]},
                       "after": None, "bufs": [0]}).encode()
    os.write(int(sys.argv[-1]), struct.pack("<QQ", len(head), 0) + head)
    os._exit(0)  # the worker's own reply never follows: the grader restarts the sandbox
