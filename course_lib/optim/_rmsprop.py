"""RMSprop, ``torch.optim.RMSprop``: :func:`rmsprop`."""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ._base import as_float_array, ema, ema_of_square, pure_step, root_plus_eps, rule_factory

__all__ = ["RMSpropState", "rmsprop"]


class RMSpropState(NamedTuple):
    """``t``: steps taken; ``v``: average of g^2; ``gbar``: average of g (centered only,
    else ``None``); ``b``: momentum buffer (momentum > 0 only, else ``None``)."""

    t: int
    v: np.ndarray
    gbar: Optional[np.ndarray]
    b: Optional[np.ndarray]


@rule_factory
def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            eps_inside=False, *, maximize=False):
    r"""RMSprop (Hinton 2012, lecture 6e), as ``torch.optim.RMSprop`` (plus ``eps_inside``).

    Update at step t (first step t = 1) with gradient g_t at w_{t-1}, elementwise,
    mu = momentum::

        g_t  <- -g_t                                     (only if maximize)
        g_t  <- g_t + lambda * w_{t-1}                   (only if lambda != 0)
        v_t   = alpha * v_{t-1} + (1 - alpha) * g_t^2    (v_0 = 0)
        vt_t  = v_t - gbar_t^2,  gbar_t = alpha * gbar_{t-1} + (1 - alpha) * g_t   (centered)
        vt_t  = v_t                                                              (otherwise)
        r_t   = sqrt(vt_t) + epsilon        (eps_inside=True: r_t = sqrt(vt_t + epsilon))
        b_t   = mu * b_{t-1} + g_t / r_t,   w_t = w_{t-1} - eta * b_t    (mu > 0, b_0 = 0)
        w_t   = w_{t-1} - eta * g_t / r_t                                        (mu = 0)

    AdaGrad's ever-growing sum G_t is replaced by an exponential moving average v_t, so the
    effective step eta / sqrt(v_t) no longer decays to zero. The centered variant divides by
    an estimate of the gradient's standard deviation instead of its root mean square.

    Conventions: torch adds epsilon outside the square root (default). ``eps_inside=True``
    gives the other published form sqrt(vt_t + epsilon), used for instance by TensorFlow 1's
    ``tf.train.RMSPropOptimizer``. Inside the root epsilon competes with v_t, so it matters
    once |g| falls below about sqrt(epsilon); outside it competes with sqrt(v_t), so only
    below about epsilon: the same epsilon means very different damping in the two forms.
    Unlike Adam, RMSprop has no bias correction: v_1 = (1 - alpha) g_1^2, so the first steps
    are large, |w_1 - w_0| ~ eta / sqrt(1 - alpha) = 10 eta for alpha = 0.99.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        alpha: decay rate of the averages, in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0 (L2 penalty folded into g).
        momentum: mu in [0, 1).
        centered: divide by the centered second moment v_t - gbar_t^2.
        eps_inside: put epsilon inside the square root (not a torch option).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"rmsprop"`` with state :class:`RMSpropState` (``t``, ``v``, ``gbar``, ``b``).
    """
    mu = float(momentum)

    def init(w) -> RMSpropState:
        w = as_float_array(w, "w")
        return RMSpropState(
            t=0,
            v=np.zeros_like(w),
            gbar=np.zeros_like(w) if centered else None,
            b=np.zeros_like(w) if mu > 0 else None,
        )

    @pure_step(RMSpropState, lr, weight_decay=weight_decay, maximize=maximize)
    def step(w, g, state, eta):
        v = ema_of_square(state.v, g, alpha)  # v_t
        if centered:
            gbar = ema(state.gbar, g, alpha)  # gbar_t
            vt = np.multiply(gbar, gbar)
            np.subtract(v, vt, out=vt)  # vt_t = v_t - gbar_t^2
        else:
            gbar, vt = None, v  # vt_t = v_t
        r = root_plus_eps(vt, eps, eps_inside)  # r_t, a new array
        delta = np.divide(g, r, out=r)  # g_t / r_t
        if mu > 0:
            b = np.multiply(state.b, mu)
            b += delta  # b_t = mu b_{t-1} + g_t / r_t
            np.multiply(b, -eta, out=delta)  # delta = -eta b_t
        else:
            b = None
            delta *= -eta  # delta = -eta g_t / r_t
        w_new = np.add(w, delta, out=delta)  # w_t = w_{t-1} + delta
        return w_new, RMSpropState(t=state.t + 1, v=v, gbar=gbar, b=b)

    return init, step
