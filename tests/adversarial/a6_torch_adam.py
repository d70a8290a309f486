# assignment: a6_training
# target: Adam
# expect-zero: Adam
# expect-message: adam_steps: torch.optim.Adam
# Delegates to torch.optim.Adam instead of writing step(): 0 for the Adam parts.
import torch


class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self._inner = torch.optim.Adam(self.param_groups, lr=lr, betas=betas, eps=eps,
                                       weight_decay=weight_decay)

    def step(self, closure=None):
        return self._inner.step(closure)
