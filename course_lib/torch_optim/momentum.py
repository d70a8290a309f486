"""Heavy-ball momentum (Polyak 1964) in torch's convention, as a ``torch.optim.Optimizer``."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer, check_lr, check_nonneg, check_rate

__all__ = ["Momentum", "momentum_direction"]


def momentum_direction(p, grad, state, group, nesterov):
    """Shared by :class:`Momentum` and :class:`~course_lib.torch_optim.Nesterov`.

    Updates the velocity ``state["momentum_buffer"]`` in place and returns the direction
    ``d`` of the step ``w <- w - eta * d``.
    """
    if group["weight_decay"] != 0:
        grad = grad.add(p, alpha=group["weight_decay"])
    mu = group["momentum"]
    if mu == 0:
        # With mu = 0 there is no velocity; torch then ignores dampening, and so do we.
        return grad
    buf = state["momentum_buffer"]
    if state["step"] == 1:
        # torch's convention: the velocity starts at the first gradient, not at (1 - d) g_1.
        buf.copy_(grad)
    else:
        buf.mul_(mu).add_(grad, alpha=1 - group["dampening"])
    if nesterov:
        return grad.add(buf, alpha=mu)
    return buf


class Momentum(RuleOptimizer):
    r"""SGD with heavy-ball momentum, ``torch.optim.SGD(momentum=mu, dampening=d)``.

    For every parameter ``w`` with gradient ``g``, at step ``t``::

        g   <- g + lambda * w                  (only when lambda != 0)
        v_1 =  g                               (first step: the velocity is the gradient)
        v_t =  mu * v_{t-1} + (1 - d) * g      (t >= 2; d = dampening)
        w   <- w - eta * v_t

    With ``d = 0`` (default) ``v_t`` is a sum of past gradients weighted by powers of ``mu``;
    with ``d = mu`` it is an exponential moving average (EMA). Were both velocities started
    at zero, the EMA one would be ``(1 - mu)`` times the plain one, so the EMA form with
    ``eta_ema = eta / (1 - mu)`` would retrace the plain form; torch's start ``v_1 = g_1``
    breaks this only through the first gradient's contribution, which fades like ``mu^t``.
    ``mu = 0`` is plain SGD (dampening is then ignored, as in torch).

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0`` (default ``1e-3``).
        momentum: ``mu`` in ``[0, 1)`` (default ``0.9``).
        dampening: ``d`` in ``[0, 1)`` (default ``0``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).

    State per parameter: ``step`` (``t``), ``momentum_buffer`` (``v``).
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
        super().__init__(
            params,
            dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay),
        )

    def _check_group(self, group):
        name = type(self).__name__
        check_lr(name, group["lr"])
        check_rate(name, "momentum", group["momentum"])
        check_rate(name, "dampening", group["dampening"])
        check_nonneg(name, "weight_decay", group["weight_decay"])

    def _init_state(self, p, group):
        return {"momentum_buffer": torch.zeros_like(p, memory_format=torch.preserve_format)}

    def _update(self, p, grad, state, group):
        direction = momentum_direction(p, grad, state, group, nesterov=False)
        p.add_(direction, alpha=-group["lr"])
