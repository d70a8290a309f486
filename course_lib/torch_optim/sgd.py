"""``torch.optim.SGD`` and its two momentum variants as ``torch.optim.Optimizer`` subclasses."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer

__all__ = ["SGD", "Momentum", "Nesterov"]


class SGD(RuleOptimizer):
    r"""Stochastic gradient descent, ``torch.optim.SGD`` with the same keywords.

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        g   <- -g                              (only when maximize)
        g   <- g + lambda * w                  (only when lambda = weight_decay != 0)
        w   <- w - eta * g                     (momentum mu = 0)

    and with momentum ``mu > 0`` (``d`` = dampening)::

        v_1 =  g                               (first step: the velocity is the gradient)
        v_t =  mu * v_{t-1} + (1 - d) * g      (t >= 2)
        w   <- w - eta * v_t                   (heavy ball, :class:`Momentum`)
        w   <- w - eta * (g + mu * v_t)        (nesterov=True, :class:`Nesterov`)

    With ``d = 0`` (default) ``v_t`` is a sum of past gradients weighted by powers of
    ``mu``; with ``d = mu`` it is an exponential moving average (EMA). Were both velocities
    started at zero, the EMA one would be ``(1 - mu)`` times the plain one, so the EMA form
    with ``eta_ema = eta / (1 - mu)`` would retrace the plain form; torch's start
    ``v_1 = g_1`` breaks this only through the first gradient's contribution, which fades
    like ``mu^t``. The Nesterov step ``g + mu * v_t`` is the heavy-ball step taken from the
    look-ahead point: Nesterov's accelerated gradient rewritten in terms of the gradient at
    the current ``w``; like torch it requires ``mu > 0`` and ``d = 0``.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0``, a number or a one-element Tensor (default ``1e-3``).
        momentum: ``mu`` in ``[0, 1)`` (default ``0``: plain SGD, no velocity is kept).
        dampening: ``d`` in ``[0, 1)`` (default ``0``; ignored when ``mu = 0``).
        weight_decay: ``lambda >= 0``, coefficient of the L2 penalty ``lambda/2 ||w||^2``
            folded into the gradient (default ``0``).
        nesterov: Nesterov momentum (default ``False``).
        maximize: ascend the objective: the gradient's sign is flipped first.
        foreach, fused, capturable, differentiable: torch's implementation switches,
            accepted as described in :mod:`course_lib.torch_optim._base`.

    State per parameter: ``step`` (``t``, an int), ``momentum_buffer`` (``v``, from the
    first step with ``mu > 0``).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, **implementation):
        super().__init__(
            params,
            dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                 nesterov=nesterov, maximize=maximize),
            implementation,
        )

    def _check_rule(self, group):
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ValueError(
                f"{type(self).__name__}: nesterov needs momentum in (0, 1) and dampening = 0 "
                f"(as torch.optim.SGD), got momentum={group['momentum']!r}, "
                f"dampening={group['dampening']!r}"
            )

    def _update(self, p, grad, state, group, lr):
        mu = group["momentum"]
        if mu != 0:  # with mu = 0 there is no velocity; torch then ignores dampening too
            buf = state.get("momentum_buffer")
            if buf is None:
                # torch's convention: the velocity starts at the first gradient, not at
                # (1 - d) g_1; it is created on first use, so a group may switch momentum on.
                buf = state["momentum_buffer"] = torch.clone(grad).detach()
            else:
                buf.mul_(mu).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buf, alpha=mu) if group["nesterov"] else buf
        p.add_(grad, alpha=-lr)


class Momentum(SGD):
    r"""SGD with heavy-ball momentum (Polyak 1964): :class:`SGD` with ``momentum=0.9``.

    ``torch.optim.SGD(momentum=mu, dampening=d)``: ``v_1 = g``,
    ``v_t = mu * v_{t-1} + (1 - d) * g``, ``w <- w - eta * v_t`` (the conventions are in
    :class:`SGD`'s docstring). ``mu = 0`` is plain SGD (dampening is then ignored, as in torch).

    Args:
        params, lr, dampening, weight_decay, maximize, foreach, fused, capturable,
            differentiable: as for :class:`SGD`.
        momentum: ``mu`` in ``[0, 1)`` (default ``0.9``).

    State per parameter: ``step`` (``t``), ``momentum_buffer`` (``v``).
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, *,
                 maximize=False, **implementation):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov=False,
                         maximize=maximize, **implementation)


class Nesterov(SGD):
    r"""SGD with Nesterov momentum (Sutskever et al. 2013): :class:`SGD` with
    ``momentum=0.9, nesterov=True``.

    ``torch.optim.SGD(momentum=mu, nesterov=True)``: ``v_1 = g``, ``v_t = mu * v_{t-1} + g``,
    ``w <- w - eta * (g + mu * v_t)`` (see :class:`SGD`'s docstring). Like torch it requires
    ``mu > 0`` and ``d = 0``; ``dampening`` is accepted only so that the signature matches.

    Args:
        params, lr, weight_decay, maximize, foreach, fused, capturable, differentiable: as
            for :class:`SGD`.
        momentum: ``mu`` in ``(0, 1)`` (default ``0.9``).
        dampening: must be ``0`` (the default).

    State per parameter: ``step`` (``t``), ``momentum_buffer`` (``v``).
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, *,
                 maximize=False, **implementation):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov=True,
                         maximize=maximize, **implementation)
