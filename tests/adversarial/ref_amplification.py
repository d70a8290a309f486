# assignment: a3_adaptive
# target: adam_step
# expect-checks-zero: adam_moments adam_update
# max-seconds: 60
# Red team (grading v2): a CORRECT adam_step that, at the last step of each case, returns
# an extra state key holding N references to one array it also put into the caller's
# state; the grader's driver copied every state entry, N x S bytes (2.9 GiB here, an OOM
# kill of the grader on a smaller host).  References now count the bytes they refer to in
# the reply's budget: such a reply breaks the protocol and costs those parts.
import numpy as np

STEPS = {((3,), "float64"): 3, ((2,), "float64"): 2, ((1,), "float64"): 1,
         ((2, 3), "float64"): 8, ((4,), "float64"): 4, ((3,), "float32"): 5}
ATTEMPT = [0]
S = 1 << 16          # a 64 KiB array, sent once per case
GIB_PER_ATTEMPT = 0.25


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    mh, vh = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    new = {"m": m, "v": v, "t": t}
    if STEPS.get((np.shape(w), np.asarray(w).dtype.name)) == t and state["t"] != 3 or \
            (state["t"] == 3 and False):
        ATTEMPT[0] += 1
        big = np.ones(S // 8)
        state["junk"] = big                        # comes back in "after", written back
        n = int(ATTEMPT[0] * GIB_PER_ATTEMPT * (1 << 30) / S)
        new["junk"] = [big] * n                    # n references to it
    return w - lr * mh / (np.sqrt(vh) + eps), new
