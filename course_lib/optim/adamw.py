r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), ``torch.optim.AdamW``.

For t = 1, 2, ... with gradient g_t at w_{t-1} (all operations elementwise)::

    w'      = (1 - eta * lambda) * w_{t-1}            (decoupled weight decay)
    m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t
    v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
    AMSGrad: vmax_t = max(vmax_{t-1}, v_t), and vmax_t replaces v_t below
    mhat_t  = m_t / (1 - beta1^t),   vhat_t = v_t / (1 - beta2^t)
    w_t     = w' - eta * mhat_t / (sqrt(vhat_t) + epsilon)

AdamW is *not* Adam with an L2 penalty. Adam's ``weight_decay`` adds lambda w to g_t, and
that term is then divided by sqrt(vhat_t) like the rest of the gradient, so coordinates with
large gradients are barely decayed. AdamW shrinks every weight by the same factor
(1 - eta lambda) outside the adaptive update. For plain SGD the two coincide; for adaptive
methods they do not. As in torch, the decay uses the current learning rate eta (also when
``lr`` is a schedule), and ``weight_decay`` defaults to 1e-2, not 0.
"""

from __future__ import annotations

import numpy as np

from ._base import Rule, check_betas, check_flag, check_lr, check_nonneg, pure_step
from .adam import AdamState, adam_delta, adam_init

__all__ = ["AdamState", "adamw"]


def adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False) -> Rule:
    r"""AdamW, as ``torch.optim.AdamW`` with the same keywords.

    Update at step t (first step t = 1), elementwise::

        w'      = (1 - eta * lambda) * w_{t-1}
        m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        vmax_t  = max(vmax_{t-1}, v_t)  and v_t -> vmax_t below    (amsgrad=True)
        mhat_t  = m_t / (1 - beta1^t),   vhat_t = v_t / (1 - beta2^t)
        w_t     = w' - eta * mhat_t / (sqrt(vhat_t) + epsilon)

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0, decoupled decay (default 1e-2 as in torch).
        amsgrad: use the running maximum of v_t.

    Returns:
        Rule ``"adamw"`` with state :class:`~course_lib.optim.adam.AdamState`.
    """
    check_lr(lr)
    beta1, beta2 = check_betas(betas)
    check_nonneg(eps=eps, weight_decay=weight_decay)
    check_flag(amsgrad=amsgrad)

    def init(w) -> AdamState:
        return adam_init(w, amsgrad)

    @pure_step(AdamState, lr)
    def step(w, g, state, eta):
        delta, new_state = adam_delta(g, state, eta, beta1, beta2, eps, amsgrad)
        w_new = np.multiply(w, 1.0 - eta * weight_decay)  # w' = (1 - eta lambda) w_{t-1}
        w_new += delta  # w_t = w' - eta mhat_t / (sqrt(vhat_t) + epsilon)
        return w_new, new_state

    return Rule(
        "adamw",
        init,
        step,
        dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad),
    )
