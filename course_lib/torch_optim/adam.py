"""``torch.optim.Adam`` and its two variants, AMSGrad and AdamW, as ``torch.optim.Optimizer``s."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer

__all__ = ["Adam", "AMSGrad", "AdamW"]


class Adam(RuleOptimizer):
    r"""Adam, ``torch.optim.Adam`` (plus ``bias_correction`` and ``eps_inside`` switches).

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        g     <- -g                                      (only when maximize)
        g     <- g + lambda * w                          (only when lambda != 0; L2 penalty)
        w     <- (1 - eta * lambda) * w                  (decoupled_weight_decay: instead)
        m_t   =  beta1 * m_{t-1} + (1 - beta1) * g       (m_0 = 0)
        v_t   =  beta2 * v_{t-1} + (1 - beta2) * g * g   (v_0 = 0)
        vmax_t = max(vmax_{t-1}, v_t)                    (amsgrad=True only; then v_t := vmax_t)
        m_hat =  m_t / (1 - beta1^t),   v_hat = v_t / (1 - beta2^t)   (bias_correction=True)
        m_hat =  m_t,                   v_hat = v_t                   (bias_correction=False)
        w     <- w - eta * m_hat / (sqrt(v_hat) + epsilon)    (eps_inside=False, torch)
        w     <- w - eta * m_hat / sqrt(v_hat + epsilon)      (eps_inside=True)

    The default (``bias_correction=True``, ``eps_inside=False``) is torch's Adam exactly; the
    two switches are not torch options and exist to compare conventions found in the
    literature. As in torch, AMSGrad and AdamW are this class with a switch
    (:class:`AMSGrad`, :class:`AdamW`).

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0``, a number or a one-element Tensor (default ``1e-3``).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default ``(0.9, 0.999)``).
        eps: ``epsilon >= 0`` (default ``1e-8``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``), or
            decoupled weight decay with ``decoupled_weight_decay=True``.
        amsgrad: use the running maximum of ``v`` (Reddi, Kale & Kumar 2018).
        bias_correction: divide by ``1 - beta^t`` (default ``True``).
        eps_inside: ``epsilon`` inside the square root (default ``False``).
        maximize: ascend the objective: the gradient's sign is flipped first.
        decoupled_weight_decay: decay the weights, not the gradient (AdamW).
        foreach, fused, capturable, differentiable: torch's implementation switches,
            accepted as described in :mod:`course_lib.torch_optim._base`.

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
        *,
        maximize=False,
        decoupled_weight_decay=False,
        **implementation,
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
                maximize=maximize,
                decoupled_weight_decay=decoupled_weight_decay,
            ),
            implementation,
        )

    def _init_state(self, p, group):
        state = {
            "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _update(self, p, grad, state, group, lr):
        beta1, beta2 = group["betas"]
        eps, t = group["eps"], state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["amsgrad"]:
            # The maximum is taken over the raw v, before bias correction (as torch does).
            v_max = state["max_exp_avg_sq"]
            torch.maximum(v_max, v, out=v_max)
            v = v_max
        if group["bias_correction"]:
            step_size = lr / (1 - beta1**t)
            bc2 = 1 - beta2**t
            if group["eps_inside"]:
                denom = v.div(bc2).add_(eps).sqrt_()
            else:
                denom = (v.sqrt() / bc2**0.5).add_(eps)
        else:
            step_size = lr
            denom = v.add(eps).sqrt_() if group["eps_inside"] else v.sqrt().add_(eps)
        p.addcdiv_(m, denom, value=-step_size)


class AMSGrad(Adam):
    r"""AMSGrad (Reddi, Kale & Kumar 2018): :class:`Adam` with ``amsgrad=True``.

    ``torch.optim.Adam(amsgrad=True)``; the update is in :class:`Adam`'s docstring, with
    ``vmax_t = max(vmax_{t-1}, v_t)`` (``vmax_0 = 0``) in place of ``v_t``. Because ``vmax``
    never decreases, ``eta / sqrt(vmax)`` never grows, which repairs Adam's non-convergence
    example in the paper's analysis. As in torch, the maximum is of the raw ``v`` and the
    bias correction is applied afterwards, so the step actually taken,
    ``eta * sqrt(1 - beta2^t) / sqrt(vmax)``, can still grow while ``vmax`` is frozen and
    ``1 - beta2^t`` rises (by about 9.8x from t = 10 to t = 3000 with beta2 = 0.999).

    Args:
        params, lr, betas, eps, maximize, foreach, fused, capturable, differentiable: as
            for :class:`Adam`.
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).

    State per parameter: ``step`` (``t``), ``exp_avg`` (``m``), ``exp_avg_sq`` (``v``),
    ``max_exp_avg_sq`` (``vmax``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
                 maximize=False, **implementation):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad=True, maximize=maximize,
                         **implementation)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019), ``torch.optim.AdamW``.

    :class:`Adam` with ``decoupled_weight_decay=True`` and ``weight_decay=1e-2``, as torch
    writes it. For every parameter ``w`` with gradient ``g``, at step ``t``::

        w     <- (1 - eta * lambda) * w                  (decay applied to w, not to g)
        w     <- w - eta / (1 - beta1^t) * m_t / (sqrt(v_t / (1 - beta2^t)) + epsilon)

    with ``m_t``, ``v_t`` (and ``vmax_t`` with amsgrad) as in :class:`Adam`. Unlike Adam's
    ``weight_decay`` (an L2 term added to ``g``, which then gets divided by ``sqrt(v)``), the
    decay here shrinks every weight by the same factor ``1 - eta*lambda`` whatever its
    gradient history. Note the decay is scaled by ``eta`` (torch's convention), so a
    learning-rate schedule also schedules the decay.

    Args:
        params, lr, betas, eps, maximize, foreach, fused, capturable, differentiable: as
            for :class:`Adam`.
        weight_decay: ``lambda >= 0`` (default ``1e-2``).
        amsgrad: use the running maximum of ``v`` (default ``False``).

    State per parameter: ``step`` (``t``), ``exp_avg`` (``m``), ``exp_avg_sq`` (``v``),
    ``max_exp_avg_sq`` (``vmax``, with amsgrad).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, **implementation):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, **implementation)
