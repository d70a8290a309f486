r"""Adam (Kingma & Ba 2015), ``torch.optim.Adam``, with AMSGrad as an option.

For t = 1, 2, ... with gradient g_t at w_{t-1} (all operations elementwise)::

    g_t   <- g_t + lambda * w_{t-1}                 (L2 weight decay, only if lambda != 0)
    m_t    = beta1 * m_{t-1} + (1 - beta1) * g_t     (m_0 = 0; first moment)
    v_t    = beta2 * v_{t-1} + (1 - beta2) * g_t^2   (v_0 = 0; second moment)
    AMSGrad: vmax_t = max(vmax_{t-1}, v_t), and vmax_t replaces v_t below
    mhat_t = m_t / (1 - beta1^t)                     (bias corrections)
    vhat_t = v_t / (1 - beta2^t)
    w_t    = w_{t-1} - eta * mhat_t / (sqrt(vhat_t) + epsilon)

Why the bias correction: m_t = (1 - beta1) sum_s beta1^(t-s) g_s has weights adding up to
1 - beta1^t, not 1, so starting from m_0 = 0 biases the averages towards 0; dividing by
1 - beta1^t (and 1 - beta2^t) removes that bias. With it the first step is
w_1 = w_0 - eta * g_1 / (|g_1| + epsilon), about eta in size for every coordinate.

Conventions that differ between sources, reachable here:

* ``bias_correction=False``: mhat_t = m_t, vhat_t = v_t (Adam without the correction,
  i.e. RMSprop applied to the momentum average m_t); then w_1 = w_0 - eta (1 - beta1) g_1 /
  (sqrt(1 - beta2) |g_1| + epsilon), about 3.2 eta for the default betas.
* ``eps_inside=True``: w_t = w_{t-1} - eta * mhat_t / sqrt(vhat_t + epsilon).
* torch (and this rule) compute eta / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t)
  + epsilon), which is exactly the formula above. The paper's "more efficient" ordering
  (used by TensorFlow) adds epsilon to the uncorrected sqrt(v_t), which amounts to using
  epsilon / sqrt(1 - beta2^t) in place of epsilon: about 32 epsilon at t = 1 for
  beta2 = 0.999, tending to epsilon as t grows.
* ``weight_decay`` is the L2 penalty added to the gradient, which Adam then rescales
  coordinate by coordinate; decoupled weight decay is :func:`~course_lib.optim.adamw`.
* AMSGrad (Reddi et al. 2018) is ``amsgrad=True``: as in torch, the running maximum is
  taken over the raw v_t and then bias-corrected.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from ._base import (
    Rule,
    as_float_array,
    check_betas,
    check_flag,
    check_lr,
    check_nonneg,
    ema,
    ema_of_square,
    pure_step,
    weight_decayed,
)

__all__ = ["AdamState", "adam", "adam_delta"]


class AdamState(NamedTuple):
    """``t``: steps taken; ``m``, ``v``: first and second moments; ``v_max``: running maximum
    of v (AMSGrad only, else ``None``)."""

    t: int
    m: np.ndarray
    v: np.ndarray
    v_max: Optional[np.ndarray]


def adam_init(w, amsgrad: bool) -> AdamState:
    """Zero moments for parameters shaped like ``w`` (shared by adam, amsgrad and adamw)."""
    w = as_float_array(w, "w")
    return AdamState(
        t=0, m=np.zeros_like(w), v=np.zeros_like(w), v_max=np.zeros_like(w) if amsgrad else None
    )


def adam_delta(g, state, eta, beta1, beta2, eps, amsgrad, bias_correction=True, eps_inside=False):
    """One Adam step without weight decay: returns ``(delta, new_state)`` where
    ``delta = -eta * mhat_t / (sqrt(vhat_t) + epsilon)`` is a new array (w_t = w_{t-1} + delta).
    """
    t = state.t + 1
    m = ema(state.m, g, beta1)  # m_t
    v = ema_of_square(state.v, g, beta2)  # v_t
    v_max = np.maximum(state.v_max, v) if amsgrad else None  # vmax_t
    c1 = 1.0 - beta1**t if bias_correction else 1.0
    c2 = 1.0 - beta2**t if bias_correction else 1.0
    if eps_inside:
        r = np.divide(v_max if amsgrad else v, c2)  # vhat_t
        r += eps
        np.sqrt(r, out=r)  # sqrt(vhat_t + epsilon)
    else:
        r = np.sqrt(v_max if amsgrad else v)
        r /= math.sqrt(c2)  # sqrt(vhat_t)
        r += eps
    delta = np.divide(m, r, out=r)
    delta *= -eta / c1  # -eta mhat_t / (sqrt(vhat_t) + epsilon)
    return delta, AdamState(t=t, m=m, v=v, v_max=v_max)


def adam(
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    bias_correction=True,
    eps_inside=False,
) -> Rule:
    r"""Adam, as ``torch.optim.Adam`` with the same keywords (plus two convention switches).

    Update at step t (first step t = 1), elementwise::

        g_t   <- g_t + lambda * w_{t-1}                 (only if lambda != 0)
        m_t    = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t    = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        vmax_t = max(vmax_{t-1}, v_t)  and v_t -> vmax_t below      (amsgrad=True)
        mhat_t = m_t / (1 - beta1^t),  vhat_t = v_t / (1 - beta2^t)  (bias_correction=True)
        mhat_t = m_t,                  vhat_t = v_t                  (bias_correction=False)
        w_t    = w_{t-1} - eta * mhat_t / (sqrt(vhat_t) + epsilon)
        w_t    = w_{t-1} - eta * mhat_t / sqrt(vhat_t + epsilon)     (eps_inside=True)

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0, L2 penalty folded into g (not AdamW's decoupled decay).
        amsgrad: use the running maximum of v_t (Reddi et al. 2018).
        bias_correction: divide by 1 - beta^t (torch always does; not a torch option).
        eps_inside: epsilon inside the square root (not a torch option).

    Returns:
        Rule ``"adam"`` with state :class:`AdamState` (``t``, ``m``, ``v``, ``v_max``).
    """
    check_lr(lr)
    beta1, beta2 = check_betas(betas)
    check_nonneg(eps=eps, weight_decay=weight_decay)
    check_flag(amsgrad=amsgrad, bias_correction=bias_correction, eps_inside=eps_inside)

    def init(w) -> AdamState:
        return adam_init(w, amsgrad)

    @pure_step(AdamState, lr)
    def step(w, g, state, eta):
        g = weight_decayed(g, w, weight_decay)
        delta, new_state = adam_delta(
            g, state, eta, beta1, beta2, eps, amsgrad, bias_correction, eps_inside
        )
        w_new = np.add(w, delta, out=delta)  # w_t = w_{t-1} + delta
        return w_new, new_state

    return Rule(
        "adam",
        init,
        step,
        dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            bias_correction=bias_correction,
            eps_inside=eps_inside,
        ),
    )
