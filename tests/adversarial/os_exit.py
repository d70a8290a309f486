# assignment: a3_adaptive
# target: adagrad_step
# expect-zero: adagrad_step
# expect-message: adagrad: exited with status 3
# twice: yes
import os


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    os._exit(3)
