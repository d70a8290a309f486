"""Machinery shared by every update rule of :mod:`course_lib.optim`.

A rule is a pair of pure functions bundled in a :class:`Rule`::

    state = rule.init(w)                    # t = 0, buffers at their start values
    w_new, state_new = rule.step(w, g, state)

A rule's factory is decorated with :func:`rule_factory`, which checks every argument by its
name (:data:`HYPERPARAMETERS`, one meaning per name, shared with
:mod:`course_lib.torch_optim`) and records them in ``Rule.hyperparams``; its ``step`` is an
``update(w, g, state, eta)`` decorated with :func:`pure_step`, which also applies what every
``torch.optim`` rule does to the gradient first (``maximize``, weight decay).

``step`` never writes into ``w``, ``g`` or the arrays of ``state``: it allocates the new
parameter and state arrays once and then updates them in place (``out=``, ``+=``), avoiding
temporaries where it can; arrays of 4 MiB or more are processed block by block so that the
remaining temporaries stay in the CPU cache (see :func:`pure_step`). The old state stays
valid, so a trajectory can be replayed from any earlier state.

Conventions (book notation): ``w`` parameters, ``g`` gradient, ``t`` the step count with
``t = 1`` on the first step, so ``state.t`` (steps already taken) is ``t - 1`` during a step,
and ``eta`` the learning rate. ``lr`` is a number or a schedule ``lr(k)`` called with
``k = state.t``, the number of steps already taken (``k = 0`` on the first step), which is
what a ``torch.optim.lr_scheduler`` stepped once after every optimizer step produces.

Inputs: ``w`` and ``g`` may be anything ``np.asarray`` accepts. Integer or boolean ``w`` is
converted to float64; a float ``w`` keeps its dtype, and ``g`` is cast to the dtype of ``w``
(so float32 parameters stay float32 even when the gradient was computed in float64). ``g``
must have exactly the shape of ``w``: nothing is broadcast.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import _validate

__all__ = [
    "Rule",
    "HYPERPARAMETERS",
    "rule_factory",
    "check_lr",
    "check_nonneg",
    "check_beta",
    "check_betas",
    "check_flag",
    "check_shapes",
    "resolve_lr",
    "as_float_array",
    "pure_step",
    "ema",
    "ema_of_square",
    "root_plus_eps",
]


class Rule(NamedTuple):
    """An update rule: ``init(w) -> state`` and ``step(w, g, state) -> (w_new, state_new)``.

    ``hyperparams`` records the arguments the factory was called with, defaults included.
    """

    name: str
    init: Callable[[Any], NamedTuple]
    step: Callable[[Any, Any, NamedTuple], tuple[np.ndarray, NamedTuple]]
    hyperparams: dict


# --- hyperparameters ----------------------------------------------------------------------
# A hyperparameter means the same in every rule, so it is checked by its name. The checks
# take an ``owner`` (a torch class) for the message; course_lib.torch_optim uses the table
# too, with its own check of ``lr`` (a number or a Tensor, never a schedule).
_LR_EXPECTED = "a finite number >= 0 or a callable lr(k)"


def _lr(name: str, value: Any, owner: str | None = None) -> Any:
    # A schedule's values are checked when it is called (see resolve_lr).
    if callable(value):
        return value
    return _validate.number(name, value, low=0.0, expected=_LR_EXPECTED, owner=owner)


def _nonneg(name: str, value: Any, owner: str | None = None) -> float:
    return _validate.number(name, value, low=0.0, owner=owner)


def _decay(name: str, value: Any, owner: str | None = None) -> float:
    return _validate.number(name, value, low=0.0, high=1.0, high_open=True, owner=owner)


def _betas(name: str, value: Any, owner: str | None = None) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        _validate.fail(TypeError, name, "a pair (beta1, beta2) of numbers in [0, 1)", value,
                       owner)
    return tuple(_decay(f"{name}[{i}]", beta, owner) for i, beta in enumerate(value))


def _flag(name: str, value: Any, owner: str | None = None) -> bool:
    return _validate.flag(name, value, owner=owner)


#: hyperparameter name -> check(name, value, owner=None), which returns the checked value.
HYPERPARAMETERS: dict[str, Callable] = {
    "lr": _lr,
    **dict.fromkeys(
        ["weight_decay", "eps", "lr_decay", "initial_accumulator_value", "momentum_decay"],
        _nonneg,
    ),
    **dict.fromkeys(["momentum", "dampening", "alpha", "rho"], _decay),
    "betas": _betas,
    **dict.fromkeys(
        ["nesterov", "maximize", "amsgrad", "centered", "decoupled_weight_decay",
         "bias_correction", "eps_inside", "constant_momentum"],
        _flag,
    ),
}


def rule_factory(factory: Callable) -> Callable:
    """Decorator of a rule's factory ``f(**hyperparameters) -> (init, step)``.

    The decorated factory keeps ``f``'s signature and docstring (what ``help`` shows). It
    binds the arguments, checks each one by its name (:data:`HYPERPARAMETERS`), calls ``f``
    and returns ``Rule(f.__name__, init, step, hyperparams)`` with ``hyperparams`` the bound
    arguments, defaults included: the signature is the one list of a rule's arguments.
    """
    signature = inspect.signature(factory)
    unknown = set(signature.parameters) - set(HYPERPARAMETERS)
    if unknown:  # a new hyperparameter needs its check first
        raise TypeError(f"{factory.__name__}: no check for the hyperparameters {sorted(unknown)}")

    @functools.wraps(factory)
    def make(*args, **kwargs) -> Rule:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            HYPERPARAMETERS[name](name, value)
        init, step = factory(*bound.args, **bound.kwargs)
        return Rule(factory.__name__, init, step, dict(bound.arguments))

    return make


def check_lr(lr: Any) -> None:
    """Accept a finite number ``lr >= 0`` or a callable schedule ``lr(k)``.

    A schedule's values are checked when it is called (see :func:`resolve_lr`).
    """
    _lr("lr", lr)


def check_nonneg(**values: Any) -> None:
    """Require each keyword value to be a finite number ``>= 0`` (eps, weight_decay, ...)."""
    for name, value in values.items():
        _nonneg(name, value)


def check_beta(**values: Any) -> None:
    """Require each keyword value to be a decay rate in ``[0, 1)`` (momentum, alpha, rho)."""
    for name, value in values.items():
        _decay(name, value)


def check_betas(betas: Any) -> tuple[float, float]:
    """Require ``betas = (beta1, beta2)``, both in ``[0, 1)``; return them as floats."""
    return _betas("betas", betas)


def check_flag(**values: Any) -> None:
    """Require each keyword value to be ``True`` or ``False`` (not a truthy number)."""
    for name, value in values.items():
        _flag(name, value)


def resolve_lr(lr: Any, t: int) -> float:
    """The learning rate ``eta`` of the step taken after ``t`` steps (``t = state.t``).

    ``lr`` is a number (returned as is) or a schedule called as ``lr(t)``, so the first step
    uses ``lr(0)``, exactly as a ``torch.optim.lr_scheduler`` stepped after every optimizer
    step. A schedule value that is not a finite number ``>= 0`` raises ``ValueError``.
    """
    if not callable(lr):
        return float(lr)
    value = lr(t)
    expected = "a finite number >= 0"
    try:
        eta = float(value)  # anything float() takes: a NumPy scalar, a 0-d array
    except (TypeError, ValueError):
        _validate.fail(TypeError, f"lr({t})", expected, value)
    if not (math.isfinite(eta) and eta >= 0.0):
        _validate.fail(ValueError, f"lr({t})", expected, value)
    return eta


# --- validation of arrays -----------------------------------------------------------------
def as_float_array(x: Any, name: str) -> np.ndarray:
    """``np.asarray(x)``; integer/boolean arrays become float64, other non-real types fail."""
    return _validate.real_array(name, x)


def check_shapes(w: np.ndarray, g: np.ndarray) -> None:
    """Require ``g.shape == w.shape`` exactly; a gradient is never broadcast."""
    if np.shape(g) != np.shape(w):
        raise ValueError(
            f"g must have the shape of w: g has shape {np.shape(g)}, w has shape "
            f"{np.shape(w)} (no broadcasting)"
        )


def _check_state(state: Any, state_type: type, w: np.ndarray) -> None:
    if not isinstance(state, state_type):
        raise TypeError(
            f"state must be a {state_type.__name__} made by this rule's init(w), got "
            f"{type(state).__name__}"
        )
    for field, value in zip(state._fields, state):
        if isinstance(value, np.ndarray) and (value.shape != w.shape or value.dtype != w.dtype):
            raise ValueError(
                f"state.{field} has shape {value.shape} and dtype {value.dtype}, but w has "
                f"shape {w.shape} and dtype {w.dtype}; make the state with init(w)"
            )


# Arrays of at least _BLOCKED_FROM bytes are updated in blocks of _BLOCK_BYTES per array.
_BLOCK_BYTES = 1 << 18
_BLOCKED_FROM = 16 * _BLOCK_BYTES


def pure_step(
    state_type: type,
    lr: Any,
    *,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    maximize: bool = False,
) -> Callable:
    """Decorator turning ``update(w, g, state, eta)`` into a rule's ``step(w, g, state)``.

    ``step`` converts and checks its inputs, resolves the learning rate
    ``eta = resolve_lr(lr, state.t)`` once, and calls ``update`` with ``w`` a float array,
    ``g`` of the same shape and dtype, and a ``state`` of type ``state_type`` whose arrays
    match ``w``. ``update`` must not write into its arguments; it returns new arrays.

    Before ``update`` sees them, ``g`` and ``w`` get what ``torch.optim`` does to them in
    every rule, in torch's order (each line only when its switch is on)::

        g <- -g                          (maximize: ascend the objective instead)
        g <- g + lambda * w              (lambda = weight_decay != 0: an L2 penalty)
        w <- (1 - eta * lambda) * w      (decoupled=True instead: decoupled weight decay)

    0-d inputs reach ``update`` as shape ``(1,)`` views (in-place ufuncs need arrays) and
    get their shape ``()`` back. Large inputs (>= 4 MiB) are updated block by block, with
    the same elementwise result: a rule applies a dozen NumPy operations in turn, and on a
    block of 256 KiB their temporaries stay in the CPU cache instead of streaming the whole
    array through memory once per operation.
    """

    def decorate(update: Callable) -> Callable:
        def prepared(w, g, state, eta):
            if maximize:
                g = np.negative(g)
            if weight_decay != 0:
                if decoupled:
                    w = np.multiply(w, 1.0 - eta * weight_decay)
                else:
                    g = weight_decayed(g, w, weight_decay)
            return update(w, g, state, eta)

        @functools.wraps(update)
        def step(w, g, state):
            w = as_float_array(w, "w")
            g = np.asarray(g)
            check_shapes(w, g)
            if g.dtype.kind not in "biuf":
                raise TypeError(f"g must be an array of real numbers, got dtype {g.dtype}")
            g = g.astype(w.dtype, copy=False)
            _check_state(state, state_type, w)
            eta = resolve_lr(lr, state.t)
            if w.nbytes >= _BLOCKED_FROM:
                return _blockwise(prepared, w, g, state, eta)
            if w.ndim > 0:
                return prepared(w, g, state, eta)
            w_new, new = prepared(w.reshape(1), g.reshape(1), _reshape_state(state, (1,)), eta)
            return w_new.reshape(()), _reshape_state(new, ())

        return step

    return decorate


def _reshape_state(state: NamedTuple, shape: tuple) -> NamedTuple:
    return state._replace(
        **{f: v.reshape(shape) for f, v in zip(state._fields, state) if isinstance(v, np.ndarray)}
    )


def _blockwise(update: Callable, w: np.ndarray, g: np.ndarray, state: NamedTuple, eta: float):
    """``update`` applied to consecutive blocks of the flattened arrays, written into new
    full-size outputs. Every operation of a rule is elementwise, so the result is the same,
    bit for bit, as one call on the whole arrays."""
    fields = [f for f, v in zip(state._fields, state) if isinstance(v, np.ndarray)]
    shape = w.shape
    w, g = w.reshape(-1), g.reshape(-1)
    old = {f: getattr(state, f).reshape(-1) for f in fields}
    w_new = np.empty_like(w)
    new = {f: np.empty_like(w) for f in fields}
    size = _BLOCK_BYTES // w.itemsize
    for start in range(0, w.size, size):
        block = slice(start, start + size)
        w_block, state_block = update(
            w[block], g[block], state._replace(**{f: old[f][block] for f in fields}), eta
        )
        w_new[block] = w_block
        for f in fields:
            new[f][block] = getattr(state_block, f)
    # The scalar fields (t, NAdam's mu_product) are the same for every block.
    new = {f: a.reshape(shape) for f, a in new.items()}
    return w_new.reshape(shape), state_block._replace(**new)


def weight_decayed(g: np.ndarray, w: np.ndarray, weight_decay: float) -> np.ndarray:
    """``g + lambda * w`` (L2 penalty folded into the gradient); ``g`` itself if ``lambda = 0``.

    The result may be ``g``: treat it as read-only.
    """
    if weight_decay == 0:
        return g
    d = np.multiply(w, weight_decay)
    d += g
    return d


def ema(prev: np.ndarray, x: np.ndarray, decay: float) -> np.ndarray:
    """Exponential moving average ``decay * prev + (1 - decay) * x`` as a new array."""
    a = np.multiply(prev, decay)
    a += (1.0 - decay) * x
    return a


def ema_of_square(prev: np.ndarray, g: np.ndarray, decay: float) -> np.ndarray:
    """``decay * prev + (1 - decay) * g^2`` as a new array (the second-moment average).

    Written as a sum of two non-negative terms, not as ``prev + (1 - decay)(g^2 - prev)``,
    so an overflowed (infinite) average stays infinite instead of becoming ``inf - inf = nan``.
    """
    a = np.multiply(g, g)
    a *= 1.0 - decay
    a += decay * prev
    return a


def root_plus_eps(x: np.ndarray, eps: float, eps_inside: bool = False) -> np.ndarray:
    """``sqrt(x) + eps``, or ``sqrt(x + eps)`` when ``eps_inside``, as a new array."""
    if eps_inside:
        r = np.add(x, eps)
        return np.sqrt(r, out=r)
    r = np.sqrt(x)
    r += eps
    return r
