# assignment: a3_adaptive
# target: adam_step
# expect-zero: adam_step
# Red team finding 2: torch.optim reached without naming it (the static check sees no
# "torch.optim"): Adam's update computed by torch's own functional Adam.
import numpy as np

_t = __import__("to" + "rch")
_o = getattr(_t, "op" + "tim")


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    p = _t.tensor(w).requires_grad_()
    opt = getattr(_o, "Ad" + "am")([p], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state[p] = {"step": _t.tensor(float(state["t"])), "exp_avg": _t.tensor(state["m"]),
                    "exp_avg_sq": _t.tensor(state["v"])}
    p.grad = _t.tensor(g)
    opt.step()
    s = opt.state[p]
    return p.detach().numpy(), {"m": s["exp_avg"].numpy(), "v": s["exp_avg_sq"].numpy(), "t": state["t"] + 1}
