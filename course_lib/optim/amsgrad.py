r"""AMSGrad (Reddi, Kale & Kumar 2018), ``torch.optim.Adam(amsgrad=True)``.

For t = 1, 2, ... with gradient g_t at w_{t-1} (all operations elementwise)::

    g_t    <- g_t + lambda * w_{t-1}                 (L2 weight decay, only if lambda != 0)
    m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t
    v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
    vmax_t  = max(vmax_{t-1}, v_t)                    (vmax_0 = 0)
    w_t     = w_{t-1} - eta / (1 - beta1^t) * m_t / (sqrt(vmax_t / (1 - beta2^t)) + epsilon)

Reddi et al. show that Adam can fail to converge even on a convex problem: a rare large
gradient raises v_t, but the exponential average forgets it within about 1/(1 - beta2)
steps, after which frequent small gradients in the wrong direction dominate again. Keeping
the running maximum vmax_t makes eta_t / sqrt(vmax_t) non-increasing whenever eta_t is,
which restores convergence in the paper's analysis. As in torch, the maximum is taken over
the raw v_t and then divided by the bias correction 1 - beta2^t (the paper has no bias
correction). The step actually taken, eta_t * sqrt(1 - beta2^t) / sqrt(vmax_t), is then
*not* monotone: while vmax_t stays frozen, the growing factor sqrt(1 - beta2^t) lengthens it
(with beta2 = 0.999, by about 9.8x between t = 10 and t = 3000), until 1 - beta2^t is close
to 1.

This is :func:`~course_lib.optim.adam` with ``amsgrad=True`` under its own name.
"""

from __future__ import annotations

from ._base import Rule
from .adam import AdamState, adam

__all__ = ["AdamState", "amsgrad"]


def amsgrad(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0) -> Rule:
    r"""AMSGrad, as ``torch.optim.Adam(lr, betas, eps, weight_decay, amsgrad=True)``.

    Update at step t (first step t = 1), elementwise::

        g_t    <- g_t + lambda * w_{t-1}                 (only if lambda != 0)
        m_t     = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        vmax_t  = max(vmax_{t-1}, v_t)
        mhat_t  = m_t / (1 - beta1^t),   vhat_t = vmax_t / (1 - beta2^t)
        w_t     = w_{t-1} - eta * mhat_t / (sqrt(vhat_t) + epsilon)

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        betas: (beta1, beta2), each in [0, 1).
        eps: epsilon >= 0.
        weight_decay: lambda >= 0 (L2 penalty folded into g).

    Returns:
        Rule ``"amsgrad"`` with state :class:`~course_lib.optim.adam.AdamState`
        (``t``, ``m``, ``v``, ``v_max``).
    """
    rule = adam(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=True)
    return Rule(
        "amsgrad",
        rule.init,
        rule.step,
        dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay),
    )
