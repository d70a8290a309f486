"""Adam, ``torch.optim.Adam``, and its two variants: :func:`adam`, :func:`amsgrad`, :func:`adamw`."""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from ._base import as_float_array, ema, ema_of_square, pure_step, rule_factory

__all__ = ["AdamState", "adam", "amsgrad", "adamw"]


class AdamState(NamedTuple):
    """``t``: steps taken; ``m``, ``v``: first and second moments; ``v_max``: running maximum
    of v (AMSGrad only, else ``None``)."""

    t: int
    m: np.ndarray
    v: np.ndarray
    v_max: Optional[np.ndarray]


@rule_factory
def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         bias_correction=True, eps_inside=False, *, maximize=False, decoupled_weight_decay=False):
    r"""Adam (Kingma & Ba 2015), as ``torch.optim.Adam`` (plus two convention switches).

    Update at step t (first step t = 1) with gradient g_t at w_{t-1}, elementwise::

        g_t    <- -g_t                                   (only if maximize)
        g_t    <- g_t + lambda * w_{t-1}                 (only if lambda != 0)
        w_{t-1} <- (1 - eta * lambda) * w_{t-1}          (decoupled_weight_decay: instead)
        m_t    = beta1 * m_{t-1} + (1 - beta1) * g_t     (m_0 = 0; first moment)
        v_t    = beta2 * v_{t-1} + (1 - beta2) * g_t^2   (v_0 = 0; second moment)
        vmax_t = max(vmax_{t-1}, v_t)  and v_t -> vmax_t below      (amsgrad=True)
        mhat_t = m_t / (1 - beta1^t),  vhat_t = v_t / (1 - beta2^t)  (bias_correction=True)
        mhat_t = m_t,                  vhat_t = v_t                  (bias_correction=False)
        w_t    = w_{t-1} - eta * mhat_t / (sqrt(vhat_t) + epsilon)
        w_t    = w_{t-1} - eta * mhat_t / sqrt(vhat_t + epsilon)     (eps_inside=True)

    Why the bias correction: m_t = (1 - beta1) sum_s beta1^(t-s) g_s has weights adding up
    to 1 - beta1^t, not 1, so starting from m_0 = 0 biases the averages towards 0; dividing
    by 1 - beta1^t (and 1 - beta2^t) removes that bias. With it the first step is
    w_1 = w_0 - eta * g_1 / (|g_1| + epsilon), about eta in size for every coordinate.

    Conventions that differ between sources, reachable here:

    * ``bias_correction=False``: mhat_t = m_t, vhat_t = v_t (Adam without the correction,
      i.e. RMSprop applied to the momentum average m_t); then w_1 = w_0 - eta (1 - beta1)
      g_1 / (sqrt(1 - beta2) |g_1| + epsilon), about 3.2 eta for the default betas.
    * ``eps_inside=True``: w_t = w_{t-1} - eta * mhat_t / sqrt(vhat_t + epsilon).
    * torch (and this rule) compute eta / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 -
      beta2^t) + epsilon), which is exactly the formula above. The paper's "more efficient"
      ordering (used by TensorFlow) adds epsilon to the uncorrected sqrt(v_t), which amounts
      to using epsilon / sqrt(1 - beta2^t) in place of epsilon: about 32 epsilon at t = 1
      for beta2 = 0.999, tending to epsilon as t grows.
    * ``weight_decay`` is the L2 penalty added to the gradient, which Adam then rescales
      coordinate by coordinate; ``decoupled_weight_decay=True`` is AdamW (:func:`adamw`).
    * ``amsgrad=True`` is AMSGrad (:func:`amsgrad`): as in torch, the running maximum is
      taken over the raw v_t and then bias-corrected.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0, L2 penalty folded into g (or decoupled, see below).
        amsgrad: use the running maximum of v_t (Reddi et al. 2018).
        bias_correction: divide by 1 - beta^t (torch always does; not a torch option).
        eps_inside: epsilon inside the square root (not a torch option).
        maximize: ascend the objective (the gradient's sign is flipped first).
        decoupled_weight_decay: decay the weights, not the gradient (AdamW).

    Returns:
        Rule ``"adam"`` with state :class:`AdamState` (``t``, ``m``, ``v``, ``v_max``).
    """
    beta1, beta2 = map(float, betas)

    def init(w) -> AdamState:
        w = as_float_array(w, "w")
        return AdamState(
            t=0, m=np.zeros_like(w), v=np.zeros_like(w),
            v_max=np.zeros_like(w) if amsgrad else None,
        )

    @pure_step(AdamState, lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay,
               maximize=maximize)
    def step(w, g, state, eta):
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
        w_new = np.add(w, delta, out=delta)  # w_t = w_{t-1} + delta
        return w_new, AdamState(t=t, m=m, v=v, v_max=v_max)

    return init, step


@rule_factory
def amsgrad(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
    r"""AMSGrad (Reddi, Kale & Kumar 2018), ``torch.optim.Adam(amsgrad=True)``.

    :func:`adam` with ``amsgrad=True``. Update at step t (first step t = 1), elementwise::

        g_t    <- -g_t                                   (only if maximize)
        g_t    <- g_t + lambda * w_{t-1}                 (only if lambda != 0)
        m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        vmax_t  = max(vmax_{t-1}, v_t)                    (vmax_0 = 0)
        mhat_t  = m_t / (1 - beta1^t),   vhat_t = vmax_t / (1 - beta2^t)
        w_t     = w_{t-1} - eta * mhat_t / (sqrt(vhat_t) + epsilon)

    Reddi et al. show that Adam can fail to converge even on a convex problem: a rare large
    gradient raises v_t, but the exponential average forgets it within about 1/(1 - beta2)
    steps, after which frequent small gradients in the wrong direction dominate again.
    Keeping the running maximum vmax_t makes eta_t / sqrt(vmax_t) non-increasing whenever
    eta_t is, which restores convergence in the paper's analysis. As in torch, the maximum
    is taken over the raw v_t and then divided by the bias correction 1 - beta2^t (the paper
    has no bias correction). The step actually taken, eta_t * sqrt(1 - beta2^t) /
    sqrt(vmax_t), is then *not* monotone: while vmax_t stays frozen, the growing factor
    sqrt(1 - beta2^t) lengthens it (with beta2 = 0.999, by about 9.8x between t = 10 and
    t = 3000), until 1 - beta2^t is close to 1.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0 (L2 penalty folded into g).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"amsgrad"`` with state :class:`AdamState` (``t``, ``m``, ``v``, ``v_max``).
    """
    rule = adam(lr, betas, eps, weight_decay, amsgrad=True, maximize=maximize)
    return rule.init, rule.step


@rule_factory
def adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
          maximize=False):
    r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), ``torch.optim.AdamW``.

    :func:`adam` with ``decoupled_weight_decay=True`` and ``weight_decay=1e-2`` by default,
    as torch writes it. Update at step t (first step t = 1), elementwise::

        g_t    <- -g_t                                    (only if maximize)
        w'      = (1 - eta * lambda) * w_{t-1}            (decoupled weight decay)
        m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        vmax_t  = max(vmax_{t-1}, v_t)  and v_t -> vmax_t below    (amsgrad=True)
        mhat_t  = m_t / (1 - beta1^t),   vhat_t = v_t / (1 - beta2^t)
        w_t     = w' - eta * mhat_t / (sqrt(vhat_t) + epsilon)

    AdamW is *not* Adam with an L2 penalty. Adam's ``weight_decay`` adds lambda w to g_t,
    and that term is then divided by sqrt(vhat_t) like the rest of the gradient, so
    coordinates with large gradients are barely decayed. AdamW shrinks every weight by the
    same factor (1 - eta lambda) outside the adaptive update. For plain SGD the two
    coincide; for adaptive methods they do not. As in torch, the decay uses the current
    learning rate eta (also when ``lr`` is a schedule).

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0, decoupled decay (default 1e-2 as in torch).
        amsgrad: use the running maximum of v_t.
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"adamw"`` with state :class:`AdamState`.
    """
    rule = adam(lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                decoupled_weight_decay=True)
    return rule.init, rule.step
