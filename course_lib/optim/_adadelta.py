"""AdaDelta, ``torch.optim.Adadelta``: :func:`adadelta`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import as_float_array, ema_of_square, pure_step, rule_factory

__all__ = ["AdadeltaState", "adadelta"]


class AdadeltaState(NamedTuple):
    """``t``: steps taken; ``v``: average of g^2; ``u``: average of Delta^2 (squared updates)."""

    t: int
    v: np.ndarray
    u: np.ndarray


@rule_factory
def adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
    r"""AdaDelta (Zeiler 2012), as ``torch.optim.Adadelta`` with the same keywords.

    Update at step t (first step t = 1) with gradient g_t at w_{t-1}, elementwise::

        g_t     <- -g_t                                      (only if maximize)
        g_t     <- g_t + lambda * w_{t-1}                    (only if lambda != 0)
        v_t      = rho * v_{t-1} + (1 - rho) * g_t^2         (v_0 = 0; average of g^2)
        Delta_t  = sqrt(u_{t-1} + epsilon) / sqrt(v_t + epsilon) * g_t
        u_t      = rho * u_{t-1} + (1 - rho) * Delta_t^2     (u_0 = 0; average of Delta^2)
        w_t      = w_{t-1} - eta * Delta_t

    Zeiler's "units" argument: the gradient g has the units of f / w (of 1/w if the loss is
    unitless), so SGD's step eta * g has the units of w only if eta carries the units
    w^2 / f (an inverse curvature). Multiplying the RMSprop step g / RMS[g] by RMS[Delta w],
    the root mean square of past updates, gives a step with the units of w, so the paper
    needs no learning rate (eta = 1, torch's default; torch keeps ``lr`` as an extra
    factor). Both averages are exponential moving averages with decay rho, not sums over a
    fixed window. Early on u ~ 0 and the step is about sqrt(epsilon / v_t) * g_t, so epsilon
    sets the initial step size.

    Args:
        lr: eta (1.0 in Zeiler's paper), a number >= 0 or a schedule ``lr(k)``, k = t - 1.
        rho: decay rate of both averages, in [0, 1).
        eps: epsilon >= 0, inside both square roots.
        weight_decay: lambda >= 0 (L2 penalty folded into g).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"adadelta"`` with state :class:`AdadeltaState` (``t``, ``v``, ``u``).
    """

    def init(w) -> AdadeltaState:
        w = as_float_array(w, "w")
        return AdadeltaState(t=0, v=np.zeros_like(w), u=np.zeros_like(w))

    @pure_step(AdadeltaState, lr, weight_decay=weight_decay, maximize=maximize)
    def step(w, g, state, eta):
        v = ema_of_square(state.v, g, rho)  # v_t
        delta = np.add(v, eps)
        np.sqrt(delta, out=delta)  # sqrt(v_t + epsilon)
        rms_u = np.add(state.u, eps)
        np.sqrt(rms_u, out=rms_u)  # sqrt(u_{t-1} + epsilon)
        np.divide(rms_u, delta, out=delta)
        delta *= g  # Delta_t
        u = ema_of_square(state.u, delta, rho)  # u_t
        np.multiply(delta, -eta, out=delta)
        w_new = np.add(w, delta, out=delta)  # w_t = w_{t-1} - eta Delta_t
        return w_new, AdadeltaState(t=state.t + 1, v=v, u=u)

    return init, step
