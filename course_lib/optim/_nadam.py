"""NAdam, ``torch.optim.NAdam``: :func:`nadam`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import as_float_array, ema, ema_of_square, pure_step, rule_factory

__all__ = ["NAdamState", "nadam"]


class NAdamState(NamedTuple):
    """``t``: steps taken; ``m``, ``v``: first and second moments; ``mu_product``: the
    product mu_1 mu_2 ... mu_t of the momentum coefficients so far (1.0 before any step)."""

    t: int
    m: np.ndarray
    v: np.ndarray
    mu_product: float


@rule_factory
def nadam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False, *, constant_momentum=False, maximize=False):
    r"""NAdam: Adam with Nesterov momentum (Dozat 2016), as ``torch.optim.NAdam`` (plus
    ``constant_momentum``).

    Update at step t (first step t = 1) with gradient g_t at w_{t-1}, elementwise,
    psi = momentum_decay::

        g_t    <- -g_t                                     (only if maximize)
        g_t    <- g_t + lambda * w_{t-1}                   (only if lambda != 0)
        w_{t-1} <- (1 - eta * lambda) * w_{t-1}            (decoupled_weight_decay: instead)
        mu_t    = beta1 * (1 - 0.5 * 0.96^(t psi))          (constant_momentum=False)
        mu_t    = beta1                                     (constant_momentum=True)
        m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        mbar_t  = mu_{t+1} m_t / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g_t / (1 - prod_{i<=t} mu_i)
        vhat_t  = v_t / (1 - beta2^t)
        w_t     = w_{t-1} - eta * mbar_t / (sqrt(vhat_t) + epsilon)

    The Nesterov idea inside Adam: Adam's step is a combination of the old momentum
    beta1 m_{t-1} and the new gradient (1 - beta1) g_t. Nesterov momentum applies the
    momentum of the *next* step instead of the current one ("look ahead"), so NAdam combines
    the current average m_t, weighted by the next coefficient mu_{t+1}, with the current
    gradient weighted by 1 - mu_t; each part gets the bias correction of the product of the
    mu_i it involves.

    Two published forms, both reachable:

    * torch (default, ``constant_momentum=False``): the warming-up schedule mu_t above,
      which starts at beta1 / 2 and tends to beta1 (Dozat's experiments use such a
      schedule), while the average m_t itself always uses beta1. Note that
      ``momentum_decay=0`` does *not* give a constant beta1: 0.96^0 = 1, so
      mu_t = beta1 * (1 - 1/2) = beta1 / 2 for every t.
    * ``constant_momentum=True``: Dozat's (2016) algorithm with a constant mu_t = beta1 for
      all t (not a torch option; ``momentum_decay`` is then ignored)::

          mbar_t = beta1 * m_t / (1 - beta1^(t+1)) + (1 - beta1) * g_t / (1 - beta1^t)

      Ruder's overview (2016) writes a different variant,
      beta1 * mhat_t + (1 - beta1) * g_t / (1 - beta1^t) with mhat_t = m_t / (1 - beta1^t),
      whose look-ahead part is corrected by 1 - beta1^t instead of 1 - beta1^(t+1); it is
      not implemented here.

    ``decoupled_weight_decay=True`` (torch's option, "NAdamW") shrinks the weights as AdamW
    does (:func:`adamw`) instead of adding lambda w to the gradient.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0 (L2 penalty folded into g, or decoupled).
        momentum_decay: psi >= 0 of the schedule.
        decoupled_weight_decay: decay the weights, not the gradient.
        constant_momentum: mu_t = beta1 for all t (not a torch option).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"nadam"`` with state :class:`NAdamState` (``t``, ``m``, ``v``, ``mu_product``).
    """
    beta1, beta2 = map(float, betas)

    def mu(t: int) -> float:
        if constant_momentum:
            return beta1
        return beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))

    def init(w) -> NAdamState:
        w = as_float_array(w, "w")
        return NAdamState(t=0, m=np.zeros_like(w), v=np.zeros_like(w), mu_product=1.0)

    @pure_step(NAdamState, lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay,
               maximize=maximize)
    def step(w, g, state, eta):
        t = state.t + 1
        mu_t, mu_next = mu(t), mu(t + 1)
        prod_t = state.mu_product * mu_t  # prod_{i<=t} mu_i
        prod_next = prod_t * mu_next  # prod_{i<=t+1} mu_i
        m = ema(state.m, g, beta1)  # m_t
        v = ema_of_square(state.v, g, beta2)  # v_t
        mhat = np.multiply(m, mu_next / (1.0 - prod_next))
        mhat += ((1.0 - mu_t) / (1.0 - prod_t)) * g  # mhat_t
        r = np.divide(v, 1.0 - beta2**t)  # vhat_t
        np.sqrt(r, out=r)
        r += eps  # sqrt(vhat_t) + epsilon
        delta = np.divide(mhat, r, out=mhat)
        delta *= -eta
        w_new = np.add(w, delta, out=delta)  # w_t = w_{t-1} - eta mhat_t / (sqrt(vhat_t) + eps)
        return w_new, NAdamState(t=t, m=m, v=v, mu_product=prod_t)

    return init, step
