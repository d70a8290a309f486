"""AdaMax, ``torch.optim.Adamax``: :func:`adamax`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import as_float_array, ema, pure_step, rule_factory

__all__ = ["AdamaxState", "adamax"]


class AdamaxState(NamedTuple):
    """``t``: steps taken; ``m``: first moment; ``u``: decayed infinity norm of the gradients."""

    t: int
    m: np.ndarray
    u: np.ndarray


@rule_factory
def adamax(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
    r"""AdaMax (Kingma & Ba 2015, section 7), as ``torch.optim.Adamax`` with the same keywords.

    Update at step t (first step t = 1) with gradient g_t at w_{t-1}, elementwise::

        g_t  <- -g_t                                      (only if maximize)
        g_t  <- g_t + lambda * w_{t-1}                    (only if lambda != 0)
        m_t   = beta1 * m_{t-1} + (1 - beta1) * g_t       (m_0 = 0)
        u_t   = max(beta2 * u_{t-1}, |g_t| + epsilon)     (u_0 = 0; infinity norm)
        w_t   = w_{t-1} - eta / (1 - beta1^t) * m_t / u_t

    Adam scales by the (bias-corrected) L2 average sqrt(vhat_t). Replacing the power 2 by p
    and letting p -> infinity turns the average into a decayed maximum
    u_t = max(beta2 u_{t-1}, |g_t|), which needs no bias correction (the maximum is not
    pulled towards the zero start). torch adds epsilon inside the maximum, which also keeps
    u_t > 0 when g_t = 0.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0 (L2 penalty folded into g).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"adamax"`` with state :class:`AdamaxState` (``t``, ``m``, ``u``).
    """
    beta1, beta2 = map(float, betas)

    def init(w) -> AdamaxState:
        w = as_float_array(w, "w")
        return AdamaxState(t=0, m=np.zeros_like(w), u=np.zeros_like(w))

    @pure_step(AdamaxState, lr, weight_decay=weight_decay, maximize=maximize)
    def step(w, g, state, eta):
        t = state.t + 1
        m = ema(state.m, g, beta1)  # m_t
        u = np.abs(g)
        u += eps  # |g_t| + epsilon
        np.maximum(u, beta2 * state.u, out=u)  # u_t = max(beta2 u_{t-1}, |g_t| + epsilon)
        delta = np.divide(m, u)
        delta *= -eta / (1.0 - beta1**t)  # -eta / (1 - beta1^t) m_t / u_t
        w_new = np.add(w, delta, out=delta)
        return w_new, AdamaxState(t=t, m=m, u=u)

    return init, step
