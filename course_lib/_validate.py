"""Argument checks shared by every module of course_lib: one policy, one message style.

Policy: a value of the wrong *type* raises ``TypeError``; a value of the right type but
outside its allowed range raises ``ValueError``. ``bool`` is never accepted as a number
(``lr=True`` is a mistake, not a learning rate of 1), and numbers are never accepted as
flags. Every message names the argument, says what was expected and shows what was given::

    lr must be a finite number >= 0, got -0.1                    (ValueError)
    lr must be a finite number >= 0, got '0.1' of type str       (TypeError)
    Adam: betas[1] must be a number in [0, 1), got 1.0           (owner: a class or function)

Each check returns the value converted to a plain Python type (``float``, ``int`` or
``bool``), so that callers compute with what they checked.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NoReturn

import numpy as np

__all__ = ["fail", "number", "integer", "flag", "one_of", "real_array"]


def fail(error: type, name: str, expected: str, value: Any, owner: str | None = None) -> NoReturn:
    """Raise ``error`` with the message ``[owner: ]name must be expected, got value``.

    A ``TypeError`` also names the type of ``value``, which is what was wrong with it.
    """
    got = repr(value) if error is not TypeError else f"{value!r} of type {type(value).__name__}"
    prefix = f"{owner}: " if owner else ""
    raise error(f"{prefix}{name} must be {expected}, got {got}")


def _range(low, high, low_open, high_open, finite) -> str:
    """Words for the accepted range: 'a finite number >= 0', 'a number in [0, 1)', ..."""
    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    words = "a finite number" if finite else "a number"
    if low is not None:
        return f"{words} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{words} {'<' if high_open else '<='} {high:g}"
    return words


def number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    expected: str | None = None,
    owner: str | None = None,
) -> float:
    """A real number (Python or NumPy, not bool) within the bounds, returned as ``float``.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open``. NaN is always
    rejected, infinities too unless ``finite=False``. ``expected`` replaces the generated
    description of the range in the message.
    """
    expected = expected or _range(low, high, low_open, high_open, finite)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(TypeError, name, expected, value, owner)
    x = float(value)
    # NaN fails every comparison below, and an infinity fails any finite upper bound
    bad = math.isnan(x) or (finite and math.isinf(x))
    if low is not None:
        bad = bad or not (x > low if low_open else x >= low)
    if high is not None:
        bad = bad or not (x < high if high_open else x <= high)
    if bad:
        fail(ValueError, name, expected, value, owner)
    return x


def integer(
    name: str, value: Any, *, low: int | None = None, expected: str | None = None,
    owner: str | None = None,
) -> int:
    """An integer (Python or NumPy, not bool) ``>= low``, returned as ``int``."""
    expected = expected or ("an integer" if low is None else f"an integer >= {low}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        fail(TypeError, name, expected, value, owner)
    if low is not None and value < low:
        fail(ValueError, name, expected, value, owner)
    return int(value)


def flag(name: str, value: Any, *, owner: str | None = None) -> bool:
    """``True`` or ``False`` (also NumPy's), not a truthy number or string."""
    if not isinstance(value, (bool, np.bool_)):
        fail(TypeError, name, "True or False", value, owner)
    return bool(value)


def one_of(name: str, value: Any, choices, *, owner: str | None = None):
    """One of ``choices`` (compared with ``==``); a ``ValueError`` lists them otherwise."""
    if not any(value == choice for choice in choices if type(value) is type(choice)):
        fail(ValueError, name, "one of " + ", ".join(map(repr, choices)), value, owner)
    return value


def real_array(name: str, value: Any) -> np.ndarray:
    """``np.asarray(value)`` holding real numbers: integer and boolean arrays become float64,
    floating arrays keep their dtype (float32 in, float32 out), anything else is refused."""
    a = np.asarray(value)
    if a.dtype.kind in "biu":
        return a.astype(np.float64)
    if a.dtype.kind != "f":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    return a
