"""Adam (Kingma & Ba 2015) as a ``torch.optim.Optimizer``; also the engine of AMSGrad/AdamW."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer, check_betas, check_flag, check_lr, check_nonneg

__all__ = ["Adam", "adam_init_state", "adam_update"]


def adam_init_state(p, amsgrad):
    """Zero first and second moments (and their running maximum for AMSGrad), shaped like ``p``."""
    state = {
        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
        "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
    }
    if amsgrad:
        state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    return state


def adam_update(
    p,
    grad,
    state,
    *,
    lr,
    betas,
    eps,
    weight_decay,
    decoupled,
    amsgrad,
    bias_correction=True,
    eps_inside=False,
):
    """One Adam / AMSGrad / AdamW step on ``p`` in place (see :class:`Adam` for the equations)."""
    beta1, beta2 = betas
    t = state["step"]
    if weight_decay != 0:
        if decoupled:
            p.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(p, alpha=weight_decay)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    if amsgrad:
        # The maximum is taken over the raw v, before bias correction (as torch does).
        v_max = state["max_exp_avg_sq"]
        torch.maximum(v_max, v, out=v_max)
        v = v_max
    if bias_correction:
        step_size = lr / (1 - beta1**t)
        bc2 = 1 - beta2**t
        if eps_inside:
            denom = v.div(bc2).add_(eps).sqrt_()
        else:
            denom = (v.sqrt() / bc2**0.5).add_(eps)
    else:
        step_size = lr
        denom = v.add(eps).sqrt_() if eps_inside else v.sqrt().add_(eps)
    p.addcdiv_(m, denom, value=-step_size)


class Adam(RuleOptimizer):
    r"""Adam, ``torch.optim.Adam`` (plus ``bias_correction`` and ``eps_inside`` switches).

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        g     <- g + lambda * w                          (only when lambda != 0; L2 penalty)
        m_t   =  beta1 * m_{t-1} + (1 - beta1) * g       (m_0 = 0)
        v_t   =  beta2 * v_{t-1} + (1 - beta2) * g * g   (v_0 = 0)
        vmax_t = max(vmax_{t-1}, v_t)                    (amsgrad=True only; then v_t := vmax_t)
        m_hat =  m_t / (1 - beta1^t),   v_hat = v_t / (1 - beta2^t)   (bias_correction=True)
        m_hat =  m_t,                   v_hat = v_t                   (bias_correction=False)
        w     <- w - eta * m_hat / (sqrt(v_hat) + epsilon)    (eps_inside=False, torch)
        w     <- w - eta * m_hat / sqrt(v_hat + epsilon)      (eps_inside=True)

    The default (``bias_correction=True``, ``eps_inside=False``) is torch's Adam exactly; the
    two switches are not torch options and exist to compare conventions found in the
    literature.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0`` (default ``1e-3``).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default ``(0.9, 0.999)``).
        eps: ``epsilon >= 0`` (default ``1e-8``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``; for
            decoupled weight decay use :class:`~course_lib.torch_optim.AdamW`).
        amsgrad: use the running maximum of ``v`` (Reddi, Kale & Kumar 2018).
        bias_correction: divide by ``1 - beta^t`` (default ``True``).
        eps_inside: ``epsilon`` inside the square root (default ``False``).

    State per parameter: ``step`` (``t``), ``exp_avg`` (``m``), ``exp_avg_sq`` (``v``),
    ``max_exp_avg_sq`` (``vmax``, with amsgrad).
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        bias_correction=True,
        eps_inside=False,
    ):
        super().__init__(
            params,
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

    def _check_group(self, group):
        check_lr("Adam", group["lr"])
        check_betas("Adam", group["betas"])
        check_nonneg("Adam", "eps", group["eps"])
        check_nonneg("Adam", "weight_decay", group["weight_decay"])
        for flag in ("amsgrad", "bias_correction", "eps_inside"):
            check_flag("Adam", flag, group[flag])

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
            decoupled=False,
            amsgrad=group["amsgrad"],
            bias_correction=group["bias_correction"],
            eps_inside=group["eps_inside"],
        )
