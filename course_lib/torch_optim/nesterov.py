"""Nesterov momentum in the form of Sutskever et al. (2013), as a ``torch.optim.Optimizer``."""

from __future__ import annotations

from .momentum import Momentum, momentum_direction

__all__ = ["Nesterov"]


class Nesterov(Momentum):
    r"""SGD with Nesterov momentum, ``torch.optim.SGD(momentum=mu, nesterov=True)``.

    For every parameter ``w`` with gradient ``g``, at step ``t``::

        g   <- g + lambda * w                  (only when lambda != 0)
        v_1 =  g                               (first step)
        v_t =  mu * v_{t-1} + g                (t >= 2)
        w   <- w - eta * (g + mu * v_t)

    The step ``g + mu * v_t`` is the heavy-ball step taken from the look-ahead point: it is
    Nesterov's accelerated gradient rewritten in terms of the gradient at the current ``w``.

    Like ``torch.optim.SGD(nesterov=True)`` (and ``course_lib.optim.nesterov``), it requires
    ``mu > 0`` and ``d = 0``; ``dampening`` is accepted only so that the signature matches.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0`` (default ``1e-3``).
        momentum: ``mu`` in ``(0, 1)`` (default ``0.9``).
        dampening: must be ``0`` (the default).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).

    State per parameter: ``step`` (``t``), ``momentum_buffer`` (``v``).
    """

    def _check_group(self, group):
        super()._check_group(group)
        if group["momentum"] == 0 or group["dampening"] != 0:
            raise ValueError(
                "Nesterov: needs momentum in (0, 1) and dampening = 0 (as torch.optim.SGD "
                f"with nesterov=True), got momentum={group['momentum']!r}, "
                f"dampening={group['dampening']!r}"
            )

    def _update(self, p, grad, state, group):
        direction = momentum_direction(p, grad, state, group, nesterov=True)
        p.add_(direction, alpha=-group["lr"])
