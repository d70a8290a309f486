"""The numerical checks behind every graded cell.

A graded cell calls a ``check_*`` function of an assignment module with the student's
function.  The check calls it on fixed and randomized cases, compares each output with the
reference, and raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader marks the
cell as failed) with a message that shows the first differing case, the expected and actual
values, the relative error and the tolerance.  When the student's output on that case matches
a catalogued wrong variant, the message names the mistake.
"""
from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import inspect
import re
import textwrap
import traceback
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "CheckFailed",
    "Check",
    "table",
    "CheckSpec",
    "QuadraticGradient",
    "spd_matrix",
    "Case",
    "Variant",
    "Tolerance",
    "compare",
    "check_cases",
    "first_mismatch",
    "make_check",
    "combine",
    "specs",
    "run_check",
    "failing_checks",
    "variant_source",
    "ASSIGNMENTS",
    "case_rng",
    "case_seed",
    "hidden_seed",
]

#: Assignment ids, in course order; module ``course_lib.grading.<id>`` holds its checks.
ASSIGNMENTS = (
    "a1_gradient_descent",
    "a2_momentum",
    "a3_adaptive",
    "a4_adam_family",
    "a5_batchnorm",
    "a6_training",
)


# ----------------------------------------------------------------------------- secret cases

_SECRET = contextvars.ContextVar("opt4dl_grading_secret", default=None)


def case_rng(n: int) -> np.random.Generator:
    """The generator a check draws its cases from.  Outside grading (a student running the
    visible checks, the tests) it is ``default_rng(n)``; while the grader draws hidden cases
    (:func:`hidden_seed`) it is seeded by ``n`` *and* the instructor's secret, so hidden cases
    cannot be computed from the public repository."""
    secret = _SECRET.get()
    return np.random.default_rng(n if secret is None else [int(n), int(secret)])


def case_seed(n: int) -> int:
    """A seed for other generators (``torch.manual_seed``) derived like :func:`case_rng`."""
    return n if _SECRET.get() is None else int(case_rng(n).integers(2**62))


@contextlib.contextmanager
def hidden_seed(secret: int | None):
    """While active (in this thread or task), :func:`case_rng` and :func:`case_seed` depend
    on ``secret``."""
    token = _SECRET.set(secret)
    try:
        yield
    finally:
        _SECRET.reset(token)


class CheckFailed(AssertionError):
    """A graded check failed; ``str(err)`` is the feedback shown to the student."""


@dataclasses.dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-7
    atol: float = 1e-10

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


@dataclasses.dataclass(frozen=True)
class Case:
    """One call of the graded function: ``fn(*args, **kwargs)``."""

    label: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def fresh(self) -> tuple[tuple, dict]:
        # Each call gets its own copies, so a function that mutates its inputs cannot
        # change what the reference (or the next variant) sees.
        return copy.deepcopy(self.args), copy.deepcopy(dict(self.kwargs))

    def describe(self) -> str:
        return self.label


@dataclasses.dataclass(frozen=True)
class Variant:
    """A known wrong implementation, named in feedback when a submission matches it.

    ``fn`` has the same signature as the reference.  ``fails`` lists the ids of the graded
    checks that a submission containing this mistake must fail (the end-to-end tests assert
    exactly that set, and hence the partial score).
    """

    id: str
    description: str
    fn: Callable[..., Any]
    fails: frozenset = frozenset()


def _as_array(x: Any) -> np.ndarray:
    return np.asarray(x)


def first_mismatch(expected: Any, actual: Any, tol: Tolerance, path: str = "output", values: bool = True):
    """Return ``None`` if ``actual`` matches ``expected`` within ``tol``, else a short
    description of the first difference (path, expected, actual, relative error).
    ``values=False`` compares only the structure, the shapes, that arrays are numeric and
    the integers (a contract check: the values are graded by other checks)."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected a dict with keys {sorted(expected)}, got {type(actual).__name__}"
        for key in expected:
            if key not in actual:
                return f"{path}: missing key {key!r} (expected keys {sorted(expected)})"
            msg = first_mismatch(expected[key], actual[key], tol, f"{path}[{key!r}]", values)
            if msg:
                return msg
        return None
    if isinstance(expected, (tuple, list)) and not _is_numeric_sequence(expected):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            n = len(actual) if isinstance(actual, (tuple, list)) else type(actual).__name__
            return f"{path}: expected a tuple of {len(expected)} items, got {n}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            msg = first_mismatch(e, a, tol, f"{path}[{i}]", values)
            if msg:
                return msg
        return None
    if isinstance(expected, (int, np.integer)) and not isinstance(expected, bool):
        # a count (the step t) is compared exactly even in a contract check: returning the
        # inputs unchanged must not pass as "the contract kept"
        if not isinstance(actual, (int, np.integer, float, np.floating)) or actual != expected:
            return f"{path}: expected {expected!r}, got {actual!r}"
        return None
    e = _as_array(expected)
    try:
        a = _as_array(actual)
    except Exception:  # noqa: BLE001 - anything unconvertible is a wrong answer
        return f"{path}: expected an array, got {type(actual).__name__}"
    if a.dtype == object or not np.issubdtype(a.dtype, np.number):
        return f"{path}: expected a numeric array, got dtype {a.dtype}"
    if a.shape != e.shape:
        return f"{path}: expected shape {e.shape}, got shape {a.shape}"
    if not values:
        return None
    if not np.all(np.isfinite(a)) and np.all(np.isfinite(e)):
        idx = np.unravel_index(np.argmax(~np.isfinite(a)), a.shape) if a.ndim else ()
        return (f"{path}{_fmt_index(idx)}: expected a finite value {_num(e[idx])}, got {_num(a[idx])} "
                "(an overflow, a division by zero or a log/sqrt of a negative number?)")
    bad = ~np.isclose(a, e, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
    if not bad.any():
        return None
    idx = np.unravel_index(np.argmax(bad), a.shape) if a.ndim else ()
    ev, av = e[idx], a[idx]
    err = abs(float(av) - float(ev))
    what = f"relative error {err / abs(float(ev)):.2e}" if ev != 0 else f"absolute error {err:.2e}"
    return (
        f"{path}{_fmt_index(idx)}: expected {float(ev):.10g}, got {float(av):.10g} "
        f"({what}; {int(bad.sum())} of {bad.size} entries differ)"
    )


def _num(x) -> str:
    """A number as a reader writes it (``nan``, ``-inf``, ``0.25``), not as its repr."""
    try:
        return f"{float(x):.10g}"
    except (TypeError, ValueError):
        return str(x)


def _is_numeric_sequence(x: Sequence) -> bool:
    return len(x) > 0 and all(isinstance(v, (int, float, np.number)) for v in x)


def _fmt_index(idx: tuple) -> str:
    return "" if idx == () else f" at index {tuple(int(i) for i in idx)}"


def compare(expected: Any, actual: Any, tol: Tolerance = Tolerance(), *, what: str = "output"):
    """Raise :class:`CheckFailed` if ``actual`` differs from ``expected``."""
    msg = first_mismatch(expected, actual, tol, what)
    if msg:
        raise CheckFailed(f"{msg} (tolerance {tol})")


def _call(fn: Callable, case: Case):
    args, kwargs = case.fresh()
    return fn(*args, **kwargs)


def check_cases(
    fn: Callable,
    reference: Callable,
    cases: Iterable[Case],
    *,
    name: str,
    tol: Tolerance = Tolerance(),
    variants: Sequence[Variant] = (),
    select: Callable[[Any], Any] | None = None,
    check_dtype: bool = False,
    no_mutation: bool = False,
    values: bool = True,
) -> int:
    """Call ``fn`` and ``reference`` on every case and compare their outputs.

    ``select`` picks the part of the output that this check grades (for example only the
    new parameters, or only the moments), so that one mistake costs only the checks it
    should.  ``check_dtype`` additionally requires floating outputs to keep the dtype of the
    reference.  ``no_mutation`` additionally requires ``fn`` to leave its array and dict
    arguments unchanged.  ``values=False`` (a contract check) grades only those two and the
    structure of the output, not its values.  Returns the number of cases checked; raises
    :class:`CheckFailed` with the first failing case otherwise.
    """
    if not callable(fn):
        raise CheckFailed(f"{name} is not a function (got {type(fn).__name__}); define it above.")
    pick = select or (lambda out: out)
    cases = list(cases)
    seen: list = []  # (case, the part of fn's output graded) of the cases that passed
    n = 0
    for case in cases:
        n += 1
        expected = pick(_call(reference, case))
        args, kwargs = case.fresh()
        try:
            actual_full = fn(*args, **kwargs)
        except NotImplementedError:
            raise CheckFailed(f"{name} is not implemented yet (it raised NotImplementedError).") from None
        except Exception as err:  # noqa: BLE001 - the student's error becomes the feedback
            tb = traceback.format_exception_only(type(err), err)[-1].strip()
            text = f"{name} raised an error on case '{case.describe()}': {tb}"
            hint = _name_raising_variant(variants, case, err)
            if hint:
                text += f"\nThis matches a known mistake: {hint}"
            raise CheckFailed(text) from None
        try:
            actual = pick(actual_full)
        except Exception:  # noqa: BLE001
            raise CheckFailed(
                f"{name} returned {type(actual_full).__name__} on case '{case.describe()}', "
                "which does not have the structure the docstring asks for."
            ) from None
        msg = first_mismatch(expected, actual, tol, "output", values)
        numeric = msg is not None and values  # the tolerance explains only a numeric mismatch
        if msg is None and check_dtype:
            msg = _dtype_mismatch(expected, actual)
        if msg is None and no_mutation:
            changed = _changed_argument(case, args, kwargs)
            if changed:
                hint = _name_mutating_variant(variants, case, changed)
                text = (
                    f"{name} changed its input {changed} on case '{case.describe()}'; "
                    "it must return new arrays and leave its arguments untouched (copy first)."
                )
                if hint:
                    text += f"\nThis matches a known mistake: {hint}"
                raise CheckFailed(text)
        if msg is None:
            seen.append((case, actual))
            continue
        hint = _name_variant(variants, seen + [(case, actual)], cases[n:], fn, tol, pick, check_dtype)
        text = f"{name} is wrong on case '{case.describe()}': {msg}" + (f" (tolerance {tol})." if numeric else ".")
        if hint:
            text += f"\nThis matches a known mistake: {hint}"
        raise CheckFailed(text)
    return n


def _dtype_mismatch(expected: Any, actual: Any, path: str = "output"):
    if isinstance(expected, Mapping):
        for k in expected:
            m = _dtype_mismatch(expected[k], actual[k], f"{path}[{k!r}]")
            if m:
                return m
        return None
    if isinstance(expected, (tuple, list)) and not _is_numeric_sequence(expected):
        for i, (e, a) in enumerate(zip(expected, actual)):
            m = _dtype_mismatch(e, a, f"{path}[{i}]")
            if m:
                return m
        return None
    e = np.asarray(expected)
    if np.issubdtype(e.dtype, np.floating):
        a_dtype = getattr(actual, "dtype", type(actual).__name__)
        if a_dtype != e.dtype:
            return (f"{path}: expected dtype {e.dtype} (the input's dtype), got {a_dtype}: keep the "
                    "input's dtype (np.zeros_like(w), not np.zeros(w.shape); no dtype=float or "
                    "np.asarray(x, dtype=float))")
    return None


def _name_variant(variants, observed, rest, fn, tol, pick, check_dtype=False) -> str | None:
    """The description of the catalogued mistake that ``fn`` makes, if one explains ALL of
    its outputs: the ``observed`` ones (case, output) and those on the ``rest`` of the cases
    (computed only if a variant explains the observed ones).  A mistake that only happens to
    agree on the failing case is not named: feedback names only the mistake actually made."""
    def agrees(v, case, actual) -> bool:
        try:
            wrong = pick(_call(v.fn, case))
        except Exception:  # noqa: BLE001 - a variant that cannot run on this case says nothing
            return False
        # With dtype checking on, a variant matches only if it also has the same dtypes.
        return first_mismatch(wrong, actual, tol) is None and not (
            check_dtype and _dtype_mismatch(wrong, actual) is not None)

    later, named = None, []
    for v in variants:
        if not all(agrees(v, c, a) for c, a in observed):
            continue
        if later is None:
            later = []
            for c in rest:
                try:
                    later.append((c, pick(_call(fn, c))))
                except Exception:  # noqa: BLE001 - no output to explain
                    later.append((c, _NO_OUTPUT))
        if all(a is not _NO_OUTPUT and agrees(v, c, a) for c, a in later):
            named.append(v.description)
    # Two mistakes this check cannot tell apart (same outputs on every case): name both.
    return "\n  or: ".join(named) or None


_NO_OUTPUT = object()


def _name_raising_variant(variants, case, err: BaseException) -> str | None:
    """A catalogued mistake that raises the same kind of error on this case (for example a
    step counter never incremented: a division by 1 - beta^0 = 0)."""
    for v in variants:
        try:
            _call(v.fn, case)
        except Exception as own:  # noqa: BLE001
            if type(own).__name__ == type(err).__name__:
                return v.description
    return None


def _differs(before: Any, after: Any) -> bool:
    if isinstance(before, Mapping):
        if not isinstance(after, Mapping) or set(before) != set(after):
            return True
        return any(_differs(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return len(before) != len(after) or any(_differs(b, a) for b, a in zip(before, after))
    if isinstance(before, np.ndarray):
        return not (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and np.array_equal(before, after, equal_nan=True)
        )
    return False  # scalars and callables cannot be changed in place


def _changed_argument(case: Case, args: tuple, kwargs: dict) -> str | None:
    """Name the first argument that the call changed in place (``args``/``kwargs`` are the
    copies the function received; ``case`` keeps the originals)."""
    for i, (before, after) in enumerate(zip(case.args, args)):
        if _differs(before, after):
            return f"argument {i + 1}"
    for key, before in case.kwargs.items():
        if _differs(before, kwargs.get(key)):
            return f"argument {key!r}"
    return None


def _name_mutating_variant(variants, case, changed) -> str | None:
    for v in variants:
        args, kwargs = case.fresh()
        try:
            v.fn(*args, **kwargs)
        except Exception:  # noqa: BLE001
            continue
        if _changed_argument(case, args, kwargs) == changed:
            return v.description
    return None


class QuadraticGradient:
    """The gradient ``A w - b`` of f(w) = 1/2 w^T A w - b^T w: a test problem for the
    optimizer assignments (a class, so that it deep-copies and prints cleanly)."""

    def __init__(self, A, b):
        self.A, self.b = A, b

    def __call__(self, w):
        return self.A @ w - self.b


def spd_matrix(n: int, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """A random symmetric positive definite n x n matrix with eigenvalues from 1 to kappa."""
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.geomspace(1.0, kappa, n) if n > 1 else np.array([1.0])
    return (Q * eig) @ Q.T


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    """What a :func:`make_check` check is made of (its ``.spec``): the cases (a list or a
    zero-argument function), the reference, ``wrap`` (``f -> driver-wrapped f``), the
    driver (or None) and :func:`check_cases`' options."""

    name: str
    reference: Callable
    cases: Any
    wrap: Callable
    driver: Callable | None
    tol: "Tolerance"
    variants: tuple
    select: Callable | None
    check_dtype: bool
    no_mutation: bool
    values: bool = True


def make_check(
    name: str,
    reference: Callable,
    visible: Iterable[Case] | Callable[[], Iterable[Case]],
    hidden: Iterable[Case] | Callable[[], Iterable[Case]],
    *,
    tol: Tolerance = Tolerance(),
    variants: Sequence[Variant] = (),
    select: Callable[[Any], Any] | None = None,
    check_dtype: bool = False,
    no_mutation: bool = False,
    values: bool = True,
    driver: Callable[..., Any] | None = None,
):
    """Return ``(check, check_hidden)``: two pure functions ``fn -> None`` that run
    :func:`check_cases` on the visible and on the hidden cases.  They return ``None`` on
    purpose: a number left as a test cell's last value would be read by nbgrader as partial
    credit.

    ``visible``/``hidden`` are lists of cases or zero-argument functions returning them (so
    randomized cases are drawn, from a fixed seed, only when the check runs).  ``driver``,
    if given, is called as ``driver(fn, *case.args, **case.kwargs)`` instead of ``fn(...)``,
    for checks that run several steps or compose calls; it wraps the reference and the
    variants the same way.
    """

    def wrap(f):
        if driver is None:
            return f
        return lambda *a, **k: driver(f, *a, **k)

    wrapped_variants = tuple(dataclasses.replace(v, fn=wrap(v.fn)) for v in variants)

    def run(fn, cases):
        if not callable(fn):
            raise CheckFailed(f"{name} is not a function (got {type(fn).__name__}); define it above.")
        return check_cases(
            wrap(fn), wrap(reference), cases() if callable(cases) else cases,
            name=name, tol=tol, variants=wrapped_variants, select=select,
            check_dtype=check_dtype, no_mutation=no_mutation, values=values,
        )

    def check(fn) -> None:
        run(fn, visible)

    def check_hidden(fn) -> None:
        run(fn, hidden)

    check.__doc__ = f"Visible check of {name}: raises CheckFailed with feedback if it is wrong."
    check_hidden.__doc__ = f"Hidden check of {name} (randomized and edge cases)."
    # The parts, for a grader that must run the driver elsewhere (runner, sandbox) and the
    # comparison here: it reads them instead of re-implementing the check.
    common = dict(name=name, reference=reference, wrap=wrap, driver=driver, tol=tol,
                  variants=wrapped_variants, select=select, check_dtype=check_dtype,
                  no_mutation=no_mutation, values=values)
    check.spec = CheckSpec(cases=visible, **common)
    check_hidden.spec = CheckSpec(cases=hidden, **common)
    return check, check_hidden


@dataclasses.dataclass(frozen=True)
class Check:
    """One graded part of an assignment: ``id`` (the nbgrader ``grade_id`` of the test cell
    that runs it), its ``points``, the name of the graded ``function`` (or class), and its
    ``visible`` and ``hidden`` check functions (``fn -> None``, raising :class:`CheckFailed`;
    made by :func:`make_check` or :func:`combine`, which keep their cases, reference and
    known-mistake variants inspectable: :func:`specs`)."""

    id: str
    points: float
    function: str
    visible: Callable
    hidden: Callable

    def run(self, fn: Callable) -> tuple[bool, str]:
        """``(passed, message)`` of the visible then the hidden part on ``fn``."""
        for part in (self.visible, self.hidden):
            try:
                part(fn)
            except CheckFailed as err:
                return False, str(err)
        return True, ""


def table(graded: Sequence[Check]) -> tuple[dict, dict]:
    """The views of an assignment's checks that nbgrader and the tools use: ``CHECKS``
    (id -> points) and ``FUNCTIONS`` (id -> graded name), derived from its one list."""
    return {c.id: c.points for c in graded}, {c.id: c.function for c in graded}


def combine(*pairs):
    """One (visible, hidden) pair from several :func:`make_check` pairs of one check id run
    on different case sets (float64 and float32 cases with their own tolerances, say).  Each
    keeps its sub-checks in ``.parts``, so that their specs stay inspectable."""
    def visible(fn) -> None:
        for pair in pairs:
            pair[0](fn)

    def hidden(fn) -> None:
        for pair in pairs:
            pair[1](fn)

    visible.parts = [pair[0] for pair in pairs]
    hidden.parts = [pair[1] for pair in pairs]
    return visible, hidden


def specs(check) -> list[CheckSpec]:
    """The :class:`CheckSpec` of every make_check check a check function runs."""
    if hasattr(check, "spec"):
        return [check.spec]
    return [s for part in getattr(check, "parts", []) for s in specs(part)]


def run_check(module, check_id: str, fn: Callable) -> tuple[bool, str]:
    """Run the visible and hidden parts of ``check_id`` of ``module`` on ``fn``.

    Returns ``(passed, message)``; ``message`` is the feedback of the first failure (or "").
    Anything other than :class:`CheckFailed` raised by the check is a bug in the check and
    propagates.
    """
    found = [c for c in module.GRADED if c.id == check_id]
    if not found:
        raise KeyError(f"check_id {check_id!r} is not one of {sorted(c.id for c in module.GRADED)}")
    return found[0].run(fn)


def failing_checks(module, fn_name: str, fn: Callable) -> dict[str, str]:
    """The checks of ``module`` that grade ``fn_name`` and fail on ``fn``: check id -> message."""
    out = {}
    for check in module.GRADED:
        if check.function == fn_name:
            ok, msg = check.run(fn)
            if not ok:
                out[check.id] = msg
    return out


_DEF_RE = re.compile(r"^(?:def|class)\s+(\w+)\s*[(:]", re.MULTILINE)


def variant_source(variant: Variant, name: str) -> str:
    """Source of ``variant.fn`` with the function (or class) renamed to ``name`` (the graded
    name), ready to paste into a notebook cell.  Requires a top-level ``def`` or ``class``."""
    src = textwrap.dedent(inspect.getsource(variant.fn))
    m = _DEF_RE.search(src)
    if m is None or m.group(1) != variant.fn.__name__:
        raise ValueError(f"variant {variant.id!r}: fn must be a top-level def or class "
                         f"(got {src[:60]!r})")
    return src[: m.start(1)] + name + src[m.end(1):]
