r"""SGD with heavy-ball momentum (Polyak 1964), ``torch.optim.SGD(momentum=mu, dampening=tau)``.

For t = 1, 2, ... with gradient g_t at w_{t-1}::

    g_t <- g_t + lambda * w_{t-1}              (L2 weight decay, only if lambda != 0)
    v_1  = g_1                                  (first step: the velocity is the gradient)
    v_t  = mu * v_{t-1} + (1 - tau) * g_t       (t >= 2)
    w_t  = w_{t-1} - eta * v_t

Two conventions meet here.

* ``tau = 0`` (default, torch, Sutskever et al. 2013): v_t = sum_s mu^(t-s) g_s, a sum whose
  weights add up to at most 1/(1 - mu).
* ``tau = mu`` (exponential moving average, "EMA momentum"): v_t averages past gradients.
  An EMA started at zero, m_t = mu m_{t-1} + (1 - mu) g_t with m_0 = 0, is exactly
  (1 - mu) times the ``tau = 0`` velocity, so EMA momentum with learning rate
  ``eta_ema = eta / (1 - mu)`` takes *the same steps* as ``tau = 0`` with ``eta``.
  torch (and this rule) start the damped velocity at v_1 = g_1, i.e. the EMA initialised at
  m_0 = g_1 rather than 0. For a given gradient sequence this adds mu^t g_1 to v_t, so the
  two parameterisations differ by a transient,
  ``w_t(tau=mu, eta_ema) = w_t(tau=0, eta) - eta_ema * mu * (1 - mu^t) / (1 - mu) * g_1``,
  which stops growing after about 1/(1 - mu) steps. The exactly equivalent zero-started EMA
  is obtained by rescaling instead: ``momentum(lr=eta_ema * (1 - mu))``.

With ``mu = 0`` this is plain SGD and ``tau`` is ignored, as in torch.
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

__all__ = ["MomentumState", "momentum", "velocity"]


class MomentumState(NamedTuple):
    """``t``: steps taken so far; ``v``: the velocity v_t (zeros before the first step)."""

    t: int
    v: np.ndarray


def velocity(v_prev: np.ndarray, g: np.ndarray, t: int, mu: float, tau: float) -> np.ndarray:
    """New velocity ``v_1 = g_1``, ``v_t = mu v_{t-1} + (1 - tau) g_t`` (t >= 2), as a new array."""
    if t == 1:
        return g.copy()
    v = np.multiply(v_prev, mu)
    v += g if tau == 0 else (1.0 - tau) * g
    return v


def momentum(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0) -> Rule:
    r"""Heavy-ball momentum, as ``torch.optim.SGD(lr, momentum, dampening, weight_decay)``.

    Update at step t (first step t = 1), mu = momentum, tau = dampening::

        g_t <- g_t + lambda * w_{t-1}              (only if lambda != 0)
        v_1  = g_1
        v_t  = mu * v_{t-1} + (1 - tau) * g_t      (t >= 2)
        w_t  = w_{t-1} - eta * v_t

    ``dampening=momentum`` gives the exponential-moving-average convention; it matches the
    default convention with ``lr = lr_ema * (1 - mu)`` up to a transient from torch's start
    v_1 = g_1 (see the module docstring for the exact relation). With ``mu = 0`` the rule is
    plain SGD and ``dampening`` is ignored (as in torch).

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        momentum: mu in [0, 1).
        dampening: tau in [0, 1).
        weight_decay: lambda >= 0 (L2 penalty folded into g).

    Returns:
        Rule ``"momentum"`` with state :class:`MomentumState` (``t``, ``v``).
    """
    check_lr(lr)
    check_beta(momentum=momentum, dampening=dampening)
    check_nonneg(weight_decay=weight_decay)
    mu, tau = float(momentum), float(dampening)

    def init(w) -> MomentumState:
        return MomentumState(t=0, v=np.zeros_like(as_float_array(w, "w")))

    @pure_step(MomentumState, lr)
    def step(w, g, state, eta):
        t = state.t + 1
        g = weight_decayed(g, w, weight_decay)
        if mu == 0:  # plain SGD: like torch, keep no velocity (v stays 0), ignore tau
            v, direction = state.v, g
        else:
            v = direction = velocity(state.v, g, t, mu, tau)  # v_t
        w_new = np.multiply(direction, -eta)
        w_new += w  # w_t = w_{t-1} - eta v_t
        return w_new, MomentumState(t=t, v=v)

    return Rule(
        "momentum",
        init,
        step,
        dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay),
    )
