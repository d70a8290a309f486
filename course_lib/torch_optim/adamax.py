"""AdaMax (Kingma & Ba 2015, section 7.1) as a ``torch.optim.Optimizer``."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer

__all__ = ["Adamax"]


class Adamax(RuleOptimizer):
    r"""AdaMax, ``torch.optim.Adamax``: Adam with the infinity norm in place of the 2-norm.

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        g   <- -g                                       (only when maximize)
        g   <- g + lambda * w                           (only when lambda != 0)
        m_t =  beta1 * m_{t-1} + (1 - beta1) * g        (m_0 = 0)
        u_t =  max(beta2 * u_{t-1}, |g| + epsilon)      (u_0 = 0)
        w   <- w - eta / (1 - beta1^t) * m_t / u_t

    ``u`` needs no bias correction: a maximum is not pulled towards its zero start the way
    an average is. Following torch, ``epsilon`` is added to ``|g|`` inside the maximum (the
    paper has ``u_t = max(beta2 u_{t-1}, |g|)``), which keeps ``u_t > 0`` when ``g = 0``.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0``, a number or a one-element Tensor (default ``2e-3``).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default ``(0.9, 0.999)``).
        eps: ``epsilon >= 0`` (default ``1e-8``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).
        maximize: ascend the objective: the gradient's sign is flipped first.
        foreach, fused, capturable, differentiable: torch's implementation switches,
            accepted as described in :mod:`course_lib.torch_optim._base`.

    State per parameter: ``step`` (``t``), ``exp_avg`` (``m``), ``exp_inf`` (``u``).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
                 maximize=False, **implementation):
        super().__init__(
            params,
            dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize),
            implementation,
        )

    def _init_state(self, p, group):
        return {
            "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
            "exp_inf": torch.zeros_like(p, memory_format=torch.preserve_format),
        }

    def _update(self, p, grad, state, group, lr):
        beta1, beta2 = group["betas"]
        m, u = state["exp_avg"], state["exp_inf"]
        m.lerp_(grad, 1 - beta1)
        torch.maximum(u.mul_(beta2), grad.abs().add_(group["eps"]), out=u)
        step_size = lr / (1 - beta1 ** state["step"])
        p.addcdiv_(m, u, value=-step_size)
