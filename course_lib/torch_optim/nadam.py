"""NAdam (Dozat 2016): Adam with Nesterov momentum, as a ``torch.optim.Optimizer``."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer

__all__ = ["NAdam"]


class NAdam(RuleOptimizer):
    r"""NAdam, ``torch.optim.NAdam`` (plus Dozat's algorithm with constant momentum).

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        g      <- -g                                         (only when maximize)
        g      <- g + lambda * w                             (only when lambda != 0)
        w      <- (1 - eta * lambda) * w                     (decoupled_weight_decay: instead)
        mu_t   =  beta1 * (1 - 0.5 * 0.96^(t * psi))          (psi = momentum_decay)
        mu_t   =  beta1                                       (constant_momentum=True)
        P_t    =  mu_1 * mu_2 * ... * mu_t                    (product of the schedule)
        m_t    =  beta1 * m_{t-1} + (1 - beta1) * g           (m_0 = 0)
        v_t    =  beta2 * v_{t-1} + (1 - beta2) * g * g       (v_0 = 0)
        d_t    =  sqrt(v_t / (1 - beta2^t)) + epsilon
        w      <- w - eta * [ (1 - mu_t) / (1 - P_t) * g
                              + mu_{t+1} / (1 - P_t * mu_{t+1}) * m_t ] / d_t

    The bracket is a Nesterov look-ahead: the next step's momentum ``mu_{t+1} m_t`` is used
    now, alongside the current gradient. ``momentum_decay`` (``psi``) gives the slowly
    increasing momentum schedule of Dozat's paper, torch and Keras. With
    ``constant_momentum=True`` (Dozat's 2016 algorithm with every mu_t = beta1; an option of
    neither torch nor Keras, which both use the schedule; ``psi`` is then ignored) ``P_t =
    beta1^t`` and the update reads::

        w <- w - eta * [ (1 - beta1) / (1 - beta1^t) * g
                         + beta1 / (1 - beta1^(t+1)) * m_t ] / d_t

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0``, a number or a one-element Tensor (default ``2e-3``).
        betas: ``(beta1, beta2)``, each in ``[0, 1)`` (default ``(0.9, 0.999)``).
        eps: ``epsilon >= 0`` (default ``1e-8``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).
        momentum_decay: ``psi >= 0`` (default ``4e-3``).
        decoupled_weight_decay: decay the weights as AdamW does, not the gradient (default
            ``False``).
        constant_momentum: use ``mu_t = beta1`` for every ``t`` (default ``False``).
        maximize: ascend the objective: the gradient's sign is flipped first.
        foreach, fused, capturable, differentiable: torch's implementation switches,
            accepted as described in :mod:`course_lib.torch_optim._base`.

    State per parameter: ``step`` (``t``), ``mu_product`` (``P_t``, a Python float),
    ``exp_avg`` (``m``), ``exp_avg_sq`` (``v``). torch keeps ``P_t`` in a tensor of the
    default dtype (float32 unless changed), so it agrees with this class bit for bit only
    when ``torch.get_default_dtype()`` is float64; otherwise the two differ by float32
    rounding of ``P_t`` (a relative 1e-7 in the step size).
    """

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        constant_momentum=False,
        maximize=False,
        **implementation,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                constant_momentum=constant_momentum,
                maximize=maximize,
            ),
            implementation,
        )

    def _init_state(self, p, group):
        return {
            "mu_product": 1.0,
            "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
        }

    def _update(self, p, grad, state, group, lr):
        eps = group["eps"]
        beta1, beta2 = group["betas"]
        t = state["step"]
        if group["constant_momentum"]:
            mu = mu_next = beta1
        else:
            psi = group["momentum_decay"]
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = v.div(1 - beta2**t).sqrt_().add_(eps)
        p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - product))
        p.addcdiv_(m, denom, value=-lr * mu_next / (1.0 - product * mu_next))
