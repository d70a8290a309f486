# assignment: a5_batchnorm
# target: layernorm_backward
# expect-checks-zero: ln_forward
# expect-message: ln_forward: protocol
# Red team (grading v2, second round): a reply whose reference path indexes an argument
# array with a list of 2,000,000 zeros (4 MB of JSON): fancy indexing made the grader copy
# 2 M rows (~500 MB) before the budget could count them.  Reference steps are now plain
# keys into lists, tuples and dicts only.
import os
import struct
import sys
import time

_correct_forward = layernorm_forward


def layernorm_forward(x, gamma, beta, ln_param):
    if getattr(x, "shape", None) == (3, 30):  # the hidden case with the widest row
        fd = int(sys.argv[-1])
        head = ('{"op":"result","bufs":[],"value":{"t":"ref","p":["a",0,['
                + ",".join(["0"] * 2_000_000) + ']]}}').encode()
        os.write(fd, struct.pack("<QQ", len(head), 0) + head)
        time.sleep(30)
    return _correct_forward(x, gamma, beta, ln_param)


def layernorm_backward(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=1, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
