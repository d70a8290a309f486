"""AdaGrad, ``torch.optim.Adagrad``: :func:`adagrad`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import as_float_array, pure_step, rule_factory

__all__ = ["AdagradState", "adagrad"]


class AdagradState(NamedTuple):
    """``t``: steps taken so far; ``G``: the running sum of squared gradients G_t."""

    t: int
    G: np.ndarray


@rule_factory
def adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
            *, maximize=False):
    r"""AdaGrad (Duchi, Hazan & Singer 2011), as ``torch.optim.Adagrad`` with the same keywords.

    Update at step t (first step t = 1) with gradient g_t at w_{t-1}, elementwise::

        g_t    <- -g_t                                  (only if maximize)
        g_t    <- g_t + lambda * w_{t-1}                (only if lambda != 0)
        eta_t   = eta / (1 + (t - 1) * lr_decay)
        G_t     = G_{t-1} + g_t^2,   G_0 = initial_accumulator_value
        w_t     = w_{t-1} - eta_t * g_t / (sqrt(G_t) + epsilon)

    Each coordinate gets its own step size eta_t / sqrt(G_t): large for coordinates whose
    gradients have been small, small for those whose gradients have been large. G_t only
    grows, so the steps shrink like 1/sqrt(t) for a steady gradient. Dividing by sqrt(G_t)
    is a diagonal preconditioner: sqrt(G_t) is the square root of the diagonal of
    sum_s g_s g_s^T. With a schedule ``lr(k)``, eta is ``lr(t - 1)`` and ``lr_decay`` still
    divides it.

    Args:
        lr: eta, a number >= 0 or a schedule ``lr(k)`` with k = t - 1 steps already taken.
        lr_decay: >= 0, the 1/(1 + (t-1) lr_decay) decay of the step size.
        weight_decay: lambda >= 0 (L2 penalty folded into g).
        initial_accumulator_value: G_0 >= 0 (every entry).
        eps: epsilon >= 0, added to sqrt(G_t).
        maximize: ascend the objective (the gradient's sign is flipped first).

    Returns:
        Rule ``"adagrad"`` with state :class:`AdagradState` (``t``, ``G``).
    """

    def init(w) -> AdagradState:
        w = as_float_array(w, "w")
        return AdagradState(t=0, G=np.full_like(w, initial_accumulator_value))

    @pure_step(AdagradState, lr, weight_decay=weight_decay, maximize=maximize)
    def step(w, g, state, eta):
        t = state.t + 1
        eta_t = eta / (1.0 + (t - 1) * lr_decay)
        G = np.multiply(g, g)
        G += state.G  # G_t = G_{t-1} + g_t^2
        delta = np.sqrt(G)
        delta += eps  # sqrt(G_t) + epsilon
        np.divide(g, delta, out=delta)
        delta *= -eta_t  # delta = -eta_t g_t / (sqrt(G_t) + epsilon)
        w_new = np.add(w, delta, out=delta)  # w_t = w_{t-1} + delta
        return w_new, AdagradState(t=t, G=G)

    return init, step
