r"""Stochastic gradient descent (Robbins & Monro 1951), ``torch.optim.SGD`` without momentum.

For t = 1, 2, ... with gradient g_t of the loss at w_{t-1}::

    g_t <- g_t + lambda * w_{t-1}          (L2 weight decay, only if lambda != 0)
    w_t  = w_{t-1} - eta_t * g_t

eta_t is ``lr`` or ``lr(t - 1)`` for a schedule.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import (
    Rule,
    as_float_array,
    check_lr,
    check_nonneg,
    pure_step,
    weight_decayed,
)

__all__ = ["SGDState", "sgd"]


class SGDState(NamedTuple):
    """``t``: steps taken so far. Plain SGD keeps nothing else."""

    t: int


def sgd(lr=1e-3, weight_decay=0.0) -> Rule:
    r"""Plain (stochastic) gradient descent, as ``torch.optim.SGD(lr, weight_decay=...)``.

    Update at step t (first step t = 1)::

        g_t <- g_t + lambda * w_{t-1}          (only if lambda != 0)
        w_t  = w_{t-1} - eta * g_t

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        weight_decay: lambda >= 0, an L2 penalty (lambda/2)||w||^2 folded into g.

    Returns:
        Rule ``"sgd"`` with state :class:`SGDState`.

    The step does not normalise the gradient: a gradient of size 1e30 moves ``w`` by
    ``eta * 1e30`` (finite in float64, but rarely what you want).
    """
    check_lr(lr)
    check_nonneg(weight_decay=weight_decay)

    def init(w) -> SGDState:
        as_float_array(w, "w")
        return SGDState(t=0)

    @pure_step(SGDState, lr)
    def step(w, g, state, eta):
        g = weight_decayed(g, w, weight_decay)
        w_new = np.multiply(g, -eta)  # - eta g_t
        w_new += w  # w_t = w_{t-1} - eta g_t
        return w_new, SGDState(t=state.t + 1)

    return Rule("sgd", init, step, dict(lr=lr, weight_decay=weight_decay))
