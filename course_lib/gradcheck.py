r"""Finite-difference gradients and the relative error used to compare gradients.

For a scalar function :math:`f` and the unit vector :math:`e_i`:

* forward difference  :math:`\partial_i f(w) \approx (f(w + h e_i) - f(w)) / h`,
  error :math:`O(h)`;
* central difference  :math:`\partial_i f(w) \approx (f(w + h e_i) - f(w - h e_i)) / (2h)`,
  error :math:`O(h^2)`.

Both also suffer a round-off error of about :math:`\varepsilon_{\text{mach}} |f| / h`, so
``h`` cannot be made arbitrarily small; ``h = 1e-5`` with central differences in float64
typically gives 8-10 correct digits.

Precision: the perturbed points are always built in **float64**, whatever the dtype of
``x`` (in float32, ``w + 1e-5`` rounds away most of the step), so ``f`` receives float64
arrays. The returned gradient has the dtype of ``x`` (float32 in, float32 out; integer input
gives float64). If ``f`` itself computes in float32, float64 inputs do not help: use a
larger ``h`` (about 1e-2 to 1e-3) and expect only 2-4 correct digits.
"""

from __future__ import annotations

import numpy as np

from . import _validate

__all__ = ["numerical_gradient", "numerical_gradient_array", "rel_error"]

_METHODS = ("central", "forward")


def _check_h(h):
    return _validate.number("h", h, low=0.0, low_open=True, expected="a finite step size > 0")


def _work_copy(x):
    """float64 copy of x (never a view: we write into it) and the dtype to return."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real numeric array, got dtype {x.dtype}")
    out_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    return np.array(x, dtype=np.float64, copy=True), out_dtype


def _scalar(value):
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def numerical_gradient(f, x, h=1e-5, method="central"):
    r"""Finite-difference gradient :math:`\nabla f(x)` of a scalar function ``f``.

    Parameters
    ----------
    f : callable
        ``f(x) -> scalar`` for an array of ``x``'s shape.
    x : array_like, any shape
        The point. Never modified: a float64 copy is perturbed one coordinate at a time
        (``f`` receives that copy; it must not keep or modify it).
    h : float
        Step size (> 0).
    method : {"central", "forward"}
        ``"central"``: :math:`g_i = (f(x + h e_i) - f(x - h e_i)) / (2h)` (error
        :math:`O(h^2)`, ``2 n`` evaluations); ``"forward"``:
        :math:`g_i = (f(x + h e_i) - f(x)) / h` (error :math:`O(h)`, ``n + 1`` evaluations).

    Returns
    -------
    ndarray of ``x``'s shape and floating dtype (see the module docstring on precision).
    """
    _validate.one_of("method", method, _METHODS)
    h = _check_h(h)
    xw, out_dtype = _work_copy(x)
    grad = np.empty(xw.shape, dtype=np.float64)
    flat, gflat = xw.reshape(-1), grad.reshape(-1)  # views into xw and grad
    f0 = _scalar(f(xw)) if method == "forward" else None
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = _scalar(f(xw))
        if method == "central":
            flat[i] = old - h
            f_minus = _scalar(f(xw))
            gflat[i] = (f_plus - f_minus) / (2.0 * h)
        else:
            gflat[i] = (f_plus - f0) / h
        flat[i] = old
    return grad.astype(out_dtype, copy=False)


def numerical_gradient_array(f, x, df, h=1e-5):
    r"""Central-difference gradient of :math:`\sum_j f(x)_j\, df_j` with respect to ``x``.

    This is the vector-Jacobian product :math:`J_f(x)^\top df`, i.e. what a layer's backward
    pass must return when the upstream gradient is ``df``:

    .. math::
        g_i = \sum_j \frac{f(x + h e_i)_j - f(x - h e_i)_j}{2h}\, df_j.

    ``f(x)`` must have exactly the shape of ``df`` (no broadcasting). ``x`` is never
    modified (a float64 copy is perturbed); the result has ``x``'s shape and floating dtype.
    """
    h = _check_h(h)
    xw, out_dtype = _work_copy(x)
    df = np.asarray(df, dtype=np.float64)
    grad = np.empty(xw.shape, dtype=np.float64)
    flat, gflat = xw.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = np.array(f(xw), dtype=np.float64)  # copy: f may return a buffer it reuses
        flat[i] = old - h
        f_minus = np.array(f(xw), dtype=np.float64)
        flat[i] = old
        if f_plus.shape != df.shape:
            raise ValueError(
                f"df must have the shape of f(x), {f_plus.shape}; got {df.shape}"
            )
        gflat[i] = np.sum((f_plus - f_minus) * df) / (2.0 * h)
    return grad.astype(out_dtype, copy=False)


def rel_error(a, b, floor=1e-12):
    r"""Largest elementwise relative error between two arrays of the same shape.

    .. math::
        \mathrm{rel\_error}(a, b) = \max_i \frac{|a_i - b_i|}{\max(|a_i| + |b_i|,\ \text{floor})}

    It lies in [0, 1]; about 1e-7 or less means agreement for float64 central differences.
    The ``floor`` (default 1e-12) keeps two zeros from giving 0/0; where both values are
    tiny (e.g. a gradient at a minimum) compare absolute errors instead.
    Shapes must match exactly (``ValueError`` otherwise); empty arrays give 0.0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if not floor > 0:
        raise ValueError(f"floor must be > 0, got {floor!r}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))
