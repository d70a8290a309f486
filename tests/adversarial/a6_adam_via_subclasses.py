# assignment: a6_training
# target: Adam
# expect-zero: Adam
# Finding 2 for a6 (torch is allowed there): find torch's Adam without naming it, through
# Optimizer.__subclasses__() and gc, and delegate step() to its code.
import gc

import torch

_adam = next(c for c in torch.optim.Optimizer.__subclasses__() if c.__name__ == "Ad" + "am")
_kernels = [o for o in gc.get_objects() if callable(o) and getattr(o, "__name__", "") in
            ("_single_tensor_" + "adam", "adam")]


class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=False, maximize=False, foreach=None, capturable=False,
                                      differentiable=False, fused=None, decoupled_weight_decay=False))

    def step(self, closure=None):
        return _adam.step(self, closure)
