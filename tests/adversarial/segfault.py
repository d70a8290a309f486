# assignment: a3_adaptive
# target: rmsprop_step
# expect-zero: rmsprop_step
# expect-message: rmsprop: SIGSEGV
import ctypes


def rmsprop_step(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    ctypes.string_at(0)
