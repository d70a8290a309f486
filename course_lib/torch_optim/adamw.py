"""AdamW (Loshchilov & Hutter 2019) as a ``torch.optim.Optimizer``."""

from __future__ import annotations

from ._base import RuleOptimizer, check_betas, check_flag, check_lr, check_nonneg
from .adam import adam_init_state, adam_update

__all__ = ["AdamW"]


class AdamW(RuleOptimizer):
    r"""Adam with decoupled weight decay, ``torch.optim.AdamW``.

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        w     <- (1 - eta * lambda) * w                  (decay applied to w, not to g)
        m_t   =  beta1 * m_{t-1} + (1 - beta1) * g       (m_0 = 0)
        v_t   =  beta2 * v_{t-1} + (1 - beta2) * g * g   (v_0 = 0)
        vmax_t = max(vmax_{t-1}, v_t)                    (amsgrad=True only; then v_t := vmax_t)
        w     <- w - eta / (1 - beta1^t) * m_t / (sqrt(v_t / (1 - beta2^t)) + epsilon)

    Unlike Adam's ``weight_decay`` (an L2 term added to ``g``, which then gets divided by
    ``sqrt(v)``), the decay here shrinks every weight by the same factor ``1 - eta*lambda``
    whatever its gradient history. Note the decay is scaled by ``eta`` (torch's convention),
    so a learning-rate schedule also schedules the decay.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0`` (default ``1e-3``).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default ``(0.9, 0.999)``).
        eps: ``epsilon >= 0`` (default ``1e-8``).
        weight_decay: ``lambda >= 0`` (default ``1e-2``).
        amsgrad: use the running maximum of ``v`` (default ``False``).

    State per parameter: ``step`` (``t``), ``exp_avg`` (``m``), ``exp_avg_sq`` (``v``),
    ``max_exp_avg_sq`` (``vmax``, with amsgrad).
    """

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False
    ):
        super().__init__(
            params,
            dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad),
        )

    def _check_group(self, group):
        check_lr("AdamW", group["lr"])
        check_betas("AdamW", group["betas"])
        check_nonneg("AdamW", "eps", group["eps"])
        check_nonneg("AdamW", "weight_decay", group["weight_decay"])
        check_flag("AdamW", "amsgrad", group["amsgrad"])

    def _init_state(self, p, group):
        return adam_init_state(p, group["amsgrad"])

    def _update(self, p, grad, state, group):
        adam_update(
            p,
            grad,
            state,
            lr=group["lr"],
            betas=group["betas"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            decoupled=True,
            amsgrad=group["amsgrad"],
        )
