# assignment: a6_training
# target: Adam
# expect-zero: Adam
# Finding 2 for a6: call torch's fused Adam kernel directly (an aten op, not a Python
# function), reached by name through torch.ops and torch._C.
import torch

_kernel = getattr(torch, "_fused_" + "adam_", None) or getattr(torch._C._VariableFunctions, "_fused_" + "adam_")


class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                st = self.state[p]
                if not st:
                    st["step"] = torch.zeros((), dtype=p.dtype)
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
            if not params:
                continue
            b1, b2 = group["betas"]
            for p in params:
                self.state[p]["step"] += 1  # torch increments before calling the kernel
            _kernel(params, [p.grad for p in params], [self.state[p]["exp_avg"] for p in params],
                    [self.state[p]["exp_avg_sq"] for p in params], [], [self.state[p]["step"] for p in params],
                    lr=group["lr"], beta1=b1, beta2=b2, weight_decay=group["weight_decay"],
                    eps=group["eps"], amsgrad=False, maximize=False)
