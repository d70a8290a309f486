"""Pure NumPy update rules of the course (the ``torch.optim`` classes as pure functions).

Every factory returns a :class:`Rule`, a pair of pure functions::

    rule = optim.adam(lr=1e-3)
    state = rule.init(w)                       # t = 0, zero buffers, same dtype as w
    w, state = rule.step(w, g, state)          # new arrays; w, g and the old state untouched

The keywords and their defaults are those of the matching ``torch.optim`` class
(``maximize`` included; torch's implementation switches such as ``foreach`` have no meaning
here), and with torch's settings each rule reproduces torch's updates step for step, up to
rounding (tested in float64 to a relative 1e-9 over 300 steps, and on torch's own optimizer
test inputs). Variants are their base rule with a switch, as in torch: ``momentum`` and
``nesterov`` are ``sgd(momentum=..., nesterov=...)``, ``amsgrad`` and ``adamw`` are
``adam(amsgrad=True)`` and ``adam(decoupled_weight_decay=True)``. A few switches reach other
published conventions: ``eps_inside`` (rmsprop, adam), ``bias_correction=False`` (adam),
``constant_momentum=True`` (nadam); EMA momentum is ``momentum(dampening=momentum)``.

Each factory's docstring (``help(optim.adam)``) writes out its algorithm in the book's
notation: w parameters, g gradient, t step count (t = 1 on the first step), eta learning
rate, beta1/beta2, m/v first/second moments, u AdaMax's infinity norm, rho/alpha decay of
averages, epsilon, lambda weight decay, mu momentum.

``lr`` is a number or a schedule ``lr(k)`` called with k = steps already taken (0 on the
first step), like a ``torch.optim.lr_scheduler`` stepped after each optimizer step.
Lists are accepted for ``w`` and ``g`` (``np.asarray``); integer ``w`` becomes float64; ``g``
is cast to the dtype of ``w`` and must have exactly its shape.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ._adadelta import adadelta
from ._adagrad import adagrad
from ._adam import adam, adamw, amsgrad
from ._adamax import adamax
from ._base import Rule, as_float_array
from ._nadam import nadam
from ._rmsprop import rmsprop
from ._sgd import momentum, nesterov, sgd

#: The course's rules, in the order of the book: the one table of their names.
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
    num_steps = _validate.integer("num_steps", num_steps, low=0)
    w = as_float_array(w0, "w0")
    out = np.empty((num_steps + 1,) + w.shape, dtype=w.dtype)
    out[0] = w
    state = rule.init(w)
    for k in range(num_steps):
        w, state = rule.step(w, grad(w), state)
        out[k + 1] = w
    return out


__all__ = ["Rule", "RULES", "get", "trajectory", *RULES]
