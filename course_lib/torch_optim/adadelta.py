"""AdaDelta (Zeiler 2012) as a ``torch.optim.Optimizer``."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer

__all__ = ["Adadelta"]


class Adadelta(RuleOptimizer):
    r"""AdaDelta, ``torch.optim.Adadelta``.

    For every parameter ``w`` with gradient ``g``, at step ``t``::

        g        <- -g                                               (only when maximize)
        g        <- g + lambda * w                                   (only when lambda != 0)
        v_t      =  rho * v_{t-1} + (1 - rho) * g * g                (v_0 = 0)
        Delta_t  =  sqrt(u_{t-1} + epsilon) / sqrt(v_t + epsilon) * g
        u_t      =  rho * u_{t-1} + (1 - rho) * Delta_t * Delta_t    (u_0 = 0)
        w        <- w - eta * Delta_t

    The ratio of the two root-mean-squares gives ``Delta`` the units of ``w`` (Zeiler's
    argument), so the paper uses no learning rate at all: that is ``eta = 1``, the default.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: ``eta >= 0``, a scale on ``Delta``, a number or a one-element Tensor (default
            ``1.0``).
        rho: ``rho`` in ``[0, 1)`` (default ``0.9``).
        eps: ``epsilon >= 0`` (default ``1e-6``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).
        maximize: ascend the objective: the gradient's sign is flipped first.
        foreach, fused, capturable, differentiable: torch's implementation switches,
            accepted as described in :mod:`course_lib.torch_optim._base`.

    State per parameter: ``step`` (``t``), ``square_avg`` (``v``), ``acc_delta`` (``u``).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False,
                 **implementation):
        super().__init__(
            params,
            dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize),
            implementation,
        )

    def _init_state(self, p, group):
        return {
            "square_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
            "acc_delta": torch.zeros_like(p, memory_format=torch.preserve_format),
        }

    def _update(self, p, grad, state, group, lr):
        rho, eps = group["rho"], group["eps"]
        v, u = state["square_avg"], state["acc_delta"]
        v.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        rms_g = v.add(eps).sqrt_()
        delta = u.add(eps).sqrt_().div_(rms_g).mul_(grad)
        u.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-lr)
