"""Plain (stochastic) gradient descent as a ``torch.optim.Optimizer``."""

from __future__ import annotations

from ._base import RuleOptimizer, check_lr, check_nonneg

__all__ = ["SGD"]


class SGD(RuleOptimizer):
    r"""Stochastic gradient descent, ``torch.optim.SGD(momentum=0)``.

    For every parameter ``w`` with gradient ``g``, at step ``t``::

        g <- g + lambda * w          (only when lambda = weight_decay != 0; L2 penalty)
        w <- w - eta * g

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0`` (default ``1e-3``).
        weight_decay: ``lambda >= 0``, coefficient of the L2 penalty ``lambda/2 ||w||^2``
            folded into the gradient (default ``0``).

    State per parameter: ``step`` (``t``, an int).
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    def _check_group(self, group):
        check_lr("SGD", group["lr"])
        check_nonneg("SGD", "weight_decay", group["weight_decay"])

    def _update(self, p, grad, state, group):
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        p.add_(grad, alpha=-group["lr"])
