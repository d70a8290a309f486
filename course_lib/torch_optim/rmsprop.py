"""RMSprop (Hinton 2012, lecture 6e) as a ``torch.optim.Optimizer``."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer

__all__ = ["RMSprop"]


class RMSprop(RuleOptimizer):
    r"""RMSprop, ``torch.optim.RMSprop`` (plus the ``eps_inside`` convention).

    For every parameter ``w`` with gradient ``g``, at step ``t``::

        g   <- -g                                         (only when maximize)
        g   <- g + lambda * w                             (only when lambda != 0)
        v_t =  alpha * v_{t-1} + (1 - alpha) * g * g      (v_0 = 0)
        s_t =  v_t                                        (centered=False)
        gbar_t = alpha * gbar_{t-1} + (1 - alpha) * g     (centered=True, gbar_0 = 0)
        s_t =  v_t - gbar_t * gbar_t                      (centered=True: a variance)
        r_t =  sqrt(s_t) + epsilon                        (eps_inside=False, torch)
        r_t =  sqrt(s_t + epsilon)                        (eps_inside=True, e.g. Keras 1)
        b_t =  mu * b_{t-1} + g / r_t,  w <- w - eta * b_t (momentum mu > 0, b_0 = 0)
        w   <- w - eta * g / r_t                          (momentum mu = 0)

    ``alpha`` is the decay of the running average of squared gradients (called ``rho`` in
    some texts). ``eps_inside=True`` is not a torch option; it puts ``epsilon`` under the
    square root, so a comparable value is about the square of the outside one.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0``, a number or a one-element Tensor (default ``1e-2``).
        alpha: ``alpha`` in ``[0, 1)`` (default ``0.99``).
        eps: ``epsilon >= 0`` (default ``1e-8``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).
        momentum: ``mu`` in ``[0, 1)`` (default ``0``).
        centered: divide by the root of the variance instead of the second moment.
        eps_inside: ``epsilon`` inside the square root (default ``False``, torch's choice).
        maximize: ascend the objective: the gradient's sign is flipped first.
        foreach, fused, capturable, differentiable: torch's implementation switches,
            accepted as described in :mod:`course_lib.torch_optim._base`.

    State per parameter: ``step`` (``t``), ``square_avg`` (``v``), ``grad_avg`` (``gbar``,
    when centered), ``momentum_buffer`` (``b``, when ``mu > 0``).
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        eps_inside=False,
        *,
        maximize=False,
        **implementation,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                eps_inside=eps_inside,
                maximize=maximize,
            ),
            implementation,
        )

    def _init_state(self, p, group):
        state = {"square_avg": torch.zeros_like(p, memory_format=torch.preserve_format)}
        if group["centered"]:
            state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["momentum"] > 0:
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _update(self, p, grad, state, group, lr):
        alpha, eps = group["alpha"], group["eps"]
        v = state["square_avg"]
        v.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            m = state["grad_avg"]
            m.lerp_(grad, 1 - alpha)
            s = v.addcmul(m, m, value=-1)
        else:
            s = v
        if group["eps_inside"]:
            denom = s.add(eps).sqrt_()
        else:
            denom = s.sqrt().add_(eps)
        if group["momentum"] > 0:
            b = state["momentum_buffer"]
            b.mul_(group["momentum"]).addcdiv_(grad, denom)
            p.add_(b, alpha=-lr)
        else:
            p.addcdiv_(grad, denom, value=-lr)
