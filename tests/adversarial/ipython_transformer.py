# assignment: a3_adaptive
# target: rmsprop_step
# expect-zero: rmsprop_step
# Registers IPython input transformers that would blank every later (test) cell in a kernel.
try:
    ip = get_ipython()
    ip.input_transformers_cleanup.append(lambda lines: ["pass\n"])
    ip.input_transformers_post.append(lambda lines: ["pass\n"])
except Exception:
    pass


def rmsprop_step(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    return w, state
