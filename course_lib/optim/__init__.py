"""Pure NumPy update rules of the course, one module per rule (as in ``torch.optim``).

Every factory returns a :class:`Rule`, a pair of pure functions::

    rule = optim.adam(lr=1e-3)
    state = rule.init(w)                       # t = 0, zero buffers, same dtype as w
    w, state = rule.step(w, g, state)          # new arrays; w, g and the old state untouched

The keywords and their defaults are those of the matching ``torch.optim`` class, and with
torch's settings each rule reproduces torch's updates step for step, up to rounding (tested
in float64 to a relative 1e-9 over 300 steps). A few switches reach other published conventions: ``eps_inside`` (rmsprop,
adam), ``bias_correction=False`` (adam), ``constant_momentum=True`` (nadam); EMA momentum
is ``momentum(dampening=momentum)``. Each module's docstring writes out its algorithm in the
book's notation: w parameters, g gradient, t step count (t = 1 on the first step), eta
learning rate, beta1/beta2, m/v first/second moments, u AdaMax's infinity norm, rho/alpha
decay of averages, epsilon, lambda weight decay, mu momentum.

``lr`` is a number or a schedule ``lr(k)`` called with k = steps already taken (0 on the
first step), like a ``torch.optim.lr_scheduler`` stepped after each optimizer step.
Lists are accepted for ``w`` and ``g`` (``np.asarray``); integer ``w`` becomes float64; ``g``
is cast to the dtype of ``w`` and must have exactly its shape.

Note: ``course_lib.optim.adam`` etc. are the factories; the modules of the same name are
``sys.modules["course_lib.optim.adam"]``.
"""

from __future__ import annotations

import numpy as np

from ._base import Rule, as_float_array
from .adadelta import adadelta
from .adagrad import adagrad
from .adam import adam
from .adamax import adamax
from .adamw import adamw
from .amsgrad import amsgrad
from .momentum import momentum
from .nadam import nadam
from .nesterov import nesterov
from .rmsprop import rmsprop
from .sgd import sgd

RULES = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adadelta": adadelta,
    "adam": adam,
    "adamax": adamax,
    "nadam": nadam,
    "amsgrad": amsgrad,
    "adamw": adamw,
}


def get(name: str, **hyperparams) -> Rule:
    """The rule ``RULES[name](**hyperparams)``; ``KeyError`` listing the names if unknown."""
    if not isinstance(name, str) or name not in RULES:
        raise KeyError(f"unknown rule {name!r}; accepted names: {', '.join(RULES)}")
    return RULES[name](**hyperparams)


def trajectory(rule: Rule, grad, w0, num_steps: int) -> np.ndarray:
    """Iterate ``w_{k+1} = step(w_k, grad(w_k))`` from ``w0``; return all iterates.

    Args:
        rule: a :class:`Rule`.
        grad: callable returning the gradient at ``w`` (same shape as ``w``).
        w0: start point (converted like ``w`` in ``step``; not modified).
        num_steps: number of steps, an int >= 0.

    Returns:
        Array of shape ``(num_steps + 1, *w0.shape)`` and the dtype of ``w0`` (float64 for
        integer input); row k is w_k, row 0 is w0.
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)):
        raise TypeError(f"num_steps must be an int >= 0, got {num_steps!r}")
    if num_steps < 0:
        raise ValueError(f"num_steps must be an int >= 0, got {num_steps!r}")
    w = as_float_array(w0, "w0")
    out = np.empty((num_steps + 1,) + w.shape, dtype=w.dtype)
    out[0] = w
    state = rule.init(w)
    for k in range(num_steps):
        w, state = rule.step(w, grad(w), state)
        out[k + 1] = w
    return out


__all__ = ["Rule", "RULES", "get", "trajectory", *RULES]
