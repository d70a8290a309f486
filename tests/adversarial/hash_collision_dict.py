# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# expect-message: adagrad: a dict of more than
# max-seconds: 60
# A reply whose value is a dict of N int keys that all hash to 0 (multiples of 2**61 - 1,
# both signs): the grader's decoder builds it in O(N^2), after the call's deadline.
import json
import os
import struct
import sys

N = 100_000  # under the 4 MiB header limit; O(N^2) = minutes to build the dict
P = (1 << 61) - 1


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    keys = []
    i = 1
    while len(keys) < N:
        keys += [P * i, -P * i]
        i += 1
    head = json.dumps({"op": "result", "value": {"t": "dict", "v": [[k, 0] for k in keys]},
                       "after": None, "bufs": []}, separators=(",", ":")).encode()
    os.write(int(sys.argv[-1]), struct.pack("<QQ", len(head), 0) + head)
    os._exit(0)
