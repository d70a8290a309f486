"""AMSGrad (Reddi, Kale & Kumar 2018) as a ``torch.optim.Optimizer``."""

from __future__ import annotations

from ._base import RuleOptimizer, check_betas, check_lr, check_nonneg
from .adam import adam_init_state, adam_update

__all__ = ["AMSGrad"]


class AMSGrad(RuleOptimizer):
    r"""AMSGrad, ``torch.optim.Adam(amsgrad=True)``.

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        g      <- g + lambda * w                          (only when lambda != 0)
        m_t    =  beta1 * m_{t-1} + (1 - beta1) * g       (m_0 = 0)
        v_t    =  beta2 * v_{t-1} + (1 - beta2) * g * g   (v_0 = 0)
        vmax_t =  max(vmax_{t-1}, v_t)                    (vmax_0 = 0)
        w      <- w - eta / (1 - beta1^t) * m_t / (sqrt(vmax_t / (1 - beta2^t)) + epsilon)

    Because ``vmax`` never decreases, ``eta / sqrt(vmax)`` never grows, which repairs Adam's
    non-convergence example in the paper's analysis. As in torch, the maximum is of the raw
    ``v`` and the bias correction is applied afterwards, so the step actually taken,
    ``eta * sqrt(1 - beta2^t) / sqrt(vmax)``, can still grow while ``vmax`` is frozen and
    ``1 - beta2^t`` rises (by about 9.8x from t = 10 to t = 3000 with beta2 = 0.999).

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0`` (default ``1e-3``).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default ``(0.9, 0.999)``).
        eps: ``epsilon >= 0`` (default ``1e-8``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).

    State per parameter: ``step`` (``t``), ``exp_avg`` (``m``), ``exp_avg_sq`` (``v``),
    ``max_exp_avg_sq`` (``vmax``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group):
        check_lr("AMSGrad", group["lr"])
        check_betas("AMSGrad", group["betas"])
        check_nonneg("AMSGrad", "eps", group["eps"])
        check_nonneg("AMSGrad", "weight_decay", group["weight_decay"])

    def _init_state(self, p, group):
        return adam_init_state(p, amsgrad=True)

    def _update(self, p, grad, state, group):
        adam_update(
            p,
            grad,
            state,
            lr=group["lr"],
            betas=group["betas"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            decoupled=False,
            amsgrad=True,
        )
