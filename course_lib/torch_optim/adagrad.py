"""AdaGrad (Duchi, Hazan & Singer 2011) as a ``torch.optim.Optimizer``."""

from __future__ import annotations

import torch

from ._base import RuleOptimizer

__all__ = ["Adagrad"]


class Adagrad(RuleOptimizer):
    r"""AdaGrad, ``torch.optim.Adagrad``.

    For every parameter ``w`` with gradient ``g``, at step ``t`` (``t = 1`` first)::

        g     <- -g                                    (only when maximize)
        g     <- g + lambda * w                        (only when lambda != 0)
        eta_t =  eta / (1 + (t - 1) * lr_decay)
        G_t   =  G_{t-1} + g * g                       (G_0 = initial_accumulator_value)
        w     <- w - eta_t * g / (sqrt(G_t) + epsilon)

    All operations are elementwise: each coordinate gets its own step size, which shrinks as
    that coordinate's squared gradients pile up in ``G`` (the running sum ``G_t`` of the
    book, chapter 6).

    Args:
        params: iterable of tensors or of parameter-group dicts.
        lr: learning rate ``eta >= 0``, a number or a one-element Tensor (default ``1e-2``).
        lr_decay: ``>= 0``, the ``1/t``-style decay of ``eta`` above (default ``0``).
        weight_decay: ``lambda >= 0``, L2 penalty folded into ``g`` (default ``0``).
        initial_accumulator_value: ``G_0 >= 0`` (default ``0``).
        eps: ``epsilon >= 0`` added to ``sqrt(G)`` (default ``1e-10``).
        maximize: ascend the objective: the gradient's sign is flipped first.
        foreach, fused, capturable, differentiable: torch's implementation switches,
            accepted as described in :mod:`course_lib.torch_optim._base`.

    State per parameter: ``step`` (``t``), ``sum`` (``G``).
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        *,
        maximize=False,
        **implementation,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
                maximize=maximize,
            ),
            implementation,
        )

    def _init_state(self, p, group):
        v0 = group["initial_accumulator_value"]
        return {"sum": torch.full_like(p, v0, memory_format=torch.preserve_format)}

    def _update(self, p, grad, state, group, lr):
        lr_t = lr / (1 + (state["step"] - 1) * group["lr_decay"])
        v = state["sum"]
        v.addcmul_(grad, grad, value=1)
        denom = v.sqrt().add_(group["eps"])
        p.addcdiv_(grad, denom, value=-lr_t)
