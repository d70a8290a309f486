r"""Nesterov momentum (Nesterov 1983; Sutskever et al. 2013), ``torch.optim.SGD(nesterov=True)``.

For t = 1, 2, ... with gradient g_t at w_{t-1}::

    g_t <- g_t + lambda * w_{t-1}              (L2 weight decay, only if lambda != 0)
    v_1  = g_1,   v_t = mu * v_{t-1} + g_t     (t >= 2)
    w_t  = w_{t-1} - eta * (g_t + mu * v_t)

The classic form (Sutskever et al. 2013) takes the gradient at the look-ahead point
w_{t-1} - eta * mu * v_{t-1}. Tracking the look-ahead point itself as the parameters turns it
into the update above, where the gradient is taken at the stored parameters (this is the form
torch uses). Compared with heavy ball the step is g_t + mu * v_t instead of v_t: the fresh
gradient is applied once more, and the velocity "one step ahead".

As in torch, Nesterov momentum needs mu > 0 and no dampening.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import (
    Rule,
    as_float_array,
    check_beta,
    check_lr,
    check_nonneg,
    pure_step,
    weight_decayed,
)
from .momentum import velocity

__all__ = ["NesterovState", "nesterov"]


class NesterovState(NamedTuple):
    """``t``: steps taken so far; ``v``: the velocity v_t (zeros before the first step)."""

    t: int
    v: np.ndarray


def nesterov(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0) -> Rule:
    r"""Nesterov momentum, as ``torch.optim.SGD(lr, momentum, weight_decay, nesterov=True)``.

    Update at step t (first step t = 1), mu = momentum::

        g_t <- g_t + lambda * w_{t-1}              (only if lambda != 0)
        v_1  = g_1,   v_t = mu * v_{t-1} + g_t     (t >= 2)
        w_t  = w_{t-1} - eta * (g_t + mu * v_t)

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        momentum: mu in (0, 1); torch requires mu > 0 for Nesterov.
        dampening: must be 0 (torch forbids dampening with Nesterov); kept so the keywords
            are torch's.
        weight_decay: lambda >= 0 (L2 penalty folded into g).

    Returns:
        Rule ``"nesterov"`` with state :class:`NesterovState` (``t``, ``v``).
    """
    check_lr(lr)
    check_beta(momentum=momentum, dampening=dampening)
    check_nonneg(weight_decay=weight_decay)
    if momentum <= 0 or dampening != 0:
        raise ValueError(
            "nesterov requires momentum > 0 and dampening = 0 (as torch.optim.SGD with "
            f"nesterov=True), got momentum={momentum!r}, dampening={dampening!r}"
        )
    mu = float(momentum)

    def init(w) -> NesterovState:
        return NesterovState(t=0, v=np.zeros_like(as_float_array(w, "w")))

    @pure_step(NesterovState, lr)
    def step(w, g, state, eta):
        t = state.t + 1
        g = weight_decayed(g, w, weight_decay)
        v = velocity(state.v, g, t, mu, 0.0)
        w_new = np.multiply(v, mu)  # mu v_t
        w_new += g  # g_t + mu v_t
        w_new *= -eta
        w_new += w  # w_t = w_{t-1} - eta (g_t + mu v_t)
        return w_new, NesterovState(t=t, v=v)

    return Rule(
        "nesterov",
        init,
        step,
        dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay),
    )
