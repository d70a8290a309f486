r"""Test functions ("loss surfaces") with analytic gradients and Hessians.

Every factory returns a :class:`Surface` with

* ``f(w)``: the objective, for ``w`` of shape ``(dim,)`` (returns a scalar) or batched
  ``(..., dim)`` (returns shape ``(...)``), e.g. a contour grid of shape ``(ny, nx, 2)``;
* ``grad(w)`` and ``hessian(w)``: :math:`\nabla f(w)` of shape ``(dim,)`` and
  :math:`\nabla^2 f(w)` of shape ``(dim, dim)``, for ``w`` of shape ``(dim,)``;
* ``minimizers`` (list of float64 arrays, global minimizer first; empty when there is
  none), ``f_min`` (the infimum of ``f`` when known, ``-inf`` when unbounded below,
  ``None`` when unknown), ``saddle_points`` (list, possibly empty), ``bounds``
  ``((w1_min, w1_max), (w2_min, w2_max))`` for 2-D plots (``None`` otherwise) and ``start``
  (a suggested starting point, float64).

Inputs are never modified; float32 in gives float32 out, float64 gives float64 (integer
input is computed in float64). In the docstrings a 2-D point is :math:`w = (x, y)`.
"""

from __future__ import annotations

import math

import numpy as np

from . import _validate

__all__ = [
    "Surface",
    "quadratic",
    "rosenbrock",
    "beale",
    "ackley",
    "saddle",
    "two_valleys",
    "booth",
    "logistic_regression",
    "SURFACES",
]


class Surface:
    """Base class: validates shapes and dtypes, then calls ``_f``, ``_grad``, ``_hessian``.

    Subclasses implement ``_f(w)`` for ``w`` of shape ``(..., dim)`` and ``_grad(w)``,
    ``_hessian(w)`` for shape ``(dim,)``, all in ``w``'s floating dtype.
    """

    def __init__(self, name, dim, *, minimizers=(), f_min=None, saddle_points=(),
                 bounds=None, start=None):
        self.name = name
        self.dim = dim
        self._minimizers = [np.asarray(m, dtype=np.float64) for m in minimizers]
        self._f_min = f_min
        self.saddle_points = [np.asarray(p, dtype=np.float64) for p in saddle_points]
        self._bounds = bounds
        self.start = np.zeros(dim) if start is None else np.asarray(start, dtype=np.float64)

    # Properties so that subclasses may compute them lazily (logistic regression).
    @property
    def minimizers(self):
        return [m.copy() for m in self._minimizers]

    @property
    def f_min(self):
        return self._f_min

    @property
    def bounds(self):
        return self._bounds

    def f(self, w):
        """Objective value; ``w`` of shape ``(dim,)`` or ``(..., dim)``."""
        w = _validate.real_array("w", w)
        if w.ndim == 0 or w.shape[-1] != self.dim:
            raise ValueError(
                f"w must have shape ({self.dim},) or (..., {self.dim}) for {self.name}, "
                f"got {w.shape}"
            )
        out = np.asarray(self._f(w), dtype=w.dtype)
        return out[()] if out.ndim == 0 else out

    def _point(self, w):
        w = _validate.real_array("w", w)
        if w.shape != (self.dim,):
            raise ValueError(f"w must have shape ({self.dim},) for {self.name}, got {w.shape}")
        return w

    def grad(self, w):
        """Gradient :math:`\\nabla f(w)`, shape ``(dim,)``, for ``w`` of shape ``(dim,)``."""
        w = self._point(w)
        return np.asarray(self._grad(w), dtype=w.dtype)

    def hessian(self, w):
        """Hessian :math:`\\nabla^2 f(w)`, shape ``(dim, dim)``, for ``w`` of shape ``(dim,)``."""
        w = self._point(w)
        return np.asarray(self._hessian(w), dtype=w.dtype)

    def __repr__(self):
        return f"<Surface {self.name} dim={self.dim}>"


# ----------------------------------------------------------------------------- quadratic
class _Quadratic(Surface):
    def __init__(self, A, b, c, start, bounds):
        dim = A.shape[0]
        eig = np.linalg.eigvalsh(A)
        xstar = np.linalg.solve(A, b)
        super().__init__(
            "quadratic", dim, minimizers=[xstar], f_min=float(c - 0.5 * b @ xstar),
            bounds=bounds, start=xstar + start,
        )
        self.A, self.b, self.c = A, b, c
        self.L = float(eig[-1])
        self.ell = float(eig[0])
        self.mu = self.ell  # the API name; the book writes \ell
        self.kappa = self.L / self.ell
        self.minimizer = xstar

    def _f(self, w):
        A, b = self.A.astype(w.dtype), self.b.astype(w.dtype)
        return 0.5 * np.einsum("...i,ij,...j->...", w, A, w) - w @ b + self.c

    def _grad(self, w):
        return self.A.astype(w.dtype) @ w - self.b.astype(w.dtype)

    def _hessian(self, w):
        return self.A.copy()


def quadratic(A=None, b=None, c=0.0, condition_number=None, dim=2, angle=0.0):
    r"""Convex quadratic :math:`f(w) = \tfrac12 w^\top A w - b^\top w + c`.

    :math:`\nabla f = A w - b`, :math:`\nabla^2 f = A`, minimizer :math:`w^* = A^{-1} b`,
    :math:`f^* = c - \tfrac12 b^\top A^{-1} b`.

    ``A`` must be symmetric positive definite. Instead of ``A`` one may give
    ``condition_number`` :math:`\kappa \ge 1`: in 2-D, :math:`A = R(\theta)\,
    \mathrm{diag}(1, \kappa)\,R(\theta)^\top` with :math:`R(\theta)` the rotation by
    ``angle`` :math:`\theta` (radians); in ``dim > 2``, :math:`A = \mathrm{diag}` of
    ``dim`` eigenvalues spaced geometrically from 1 to :math:`\kappa` (``angle`` must be 0).
    Neither given: :math:`A = I`. ``b`` defaults to 0.

    Attributes: ``A``, ``b``, ``c``, ``L`` (largest eigenvalue of A, the smoothness
    constant), ``ell`` (smallest eigenvalue, the strong-convexity constant; alias ``mu``),
    ``kappa = L / ell``, ``minimizer``.
    """
    if A is not None and condition_number is not None:
        raise ValueError("give either A or condition_number, not both")
    dim = _validate.integer("dim", dim, low=1)
    angle = _validate.number("angle", angle)
    c = _validate.number("c", c)
    if A is not None:
        A = np.array(A, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        if dim != 2 and dim != A.shape[0]:
            raise ValueError(f"dim ({dim}) does not match A of shape {A.shape}")
        if angle != 0.0:
            raise ValueError("angle is only used with condition_number; got A and angle")
        if not np.all(np.isfinite(A)):
            raise ValueError("A must be finite")
        scale = max(np.max(np.abs(A)), 1e-300)
        if np.max(np.abs(A - A.T)) > 1e-12 * scale:
            raise ValueError("A must be symmetric")
        A = 0.5 * (A + A.T)
        if np.linalg.eigvalsh(A)[0] <= 0:
            raise ValueError(
                "A must be positive definite (use saddle() or two_valleys() for non-convex "
                "surfaces)"
            )
    elif condition_number is not None:
        kappa = _validate.number("condition_number", condition_number, low=1.0)
        if dim == 1 and kappa != 1.0:
            raise ValueError(f"condition_number must be 1 when dim == 1, got {kappa!r}")
        if dim == 2:
            cs, sn = math.cos(angle), math.sin(angle)
            R = np.array([[cs, -sn], [sn, cs]])
            A = R @ np.diag([1.0, kappa]) @ R.T
            A = 0.5 * (A + A.T)
        else:
            if angle != 0.0:
                raise ValueError(f"angle must be 0 when dim != 2, got {angle!r}")
            A = np.diag(np.geomspace(1.0, kappa, dim))
    else:
        A = np.eye(dim)
    dim = A.shape[0]
    if b is None:
        b = np.zeros(dim)
    else:
        b = np.array(b, dtype=np.float64)
        if b.shape != (dim,):
            raise ValueError(f"b must have shape ({dim},), got {b.shape}")
    if dim == 2:
        xstar = np.linalg.solve(A, b)
        bounds = ((xstar[0] - 5, xstar[0] + 5), (xstar[1] - 5, xstar[1] + 5))
        offset = np.array([-4.0, 3.0])
    else:
        bounds, offset = None, np.ones(dim)
    s = _Quadratic(A, b, c, offset, bounds)
    if condition_number is not None:
        # Exact by construction (eigvalsh of the rotated matrix is off by a few ulps).
        s.L, s.ell, s.mu, s.kappa = kappa, 1.0, 1.0, kappa
    return s


# ----------------------------------------------------------------------------- 2-D surfaces
class _Rosenbrock(Surface):
    def __init__(self, a, b):
        super().__init__(
            "rosenbrock", 2, minimizers=[(a, a * a)], f_min=0.0,
            bounds=((a - 3.0, a + 1.0), (a * a - 2.0, a * a + 2.0)),
            start=(a - 2.2, a * a),
        )
        self.a, self.b = a, b

    def _f(self, w):
        x, y = w[..., 0], w[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _grad(self, w):
        x, y = w
        r = y - x**2
        return np.array([-2 * (self.a - x) - 4 * self.b * x * r, 2 * self.b * r])

    def _hessian(self, w):
        x, y = w
        off = -4 * self.b * x
        return np.array([[2 - 4 * self.b * y + 12 * self.b * x**2, off], [off, 2 * self.b]])


def rosenbrock(a=1.0, b=100.0):
    r"""Rosenbrock's banana :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2` (``b > 0``).

    :math:`\nabla f = (-2(a - x) - 4 b x (y - x^2),\ 2 b (y - x^2))`; single minimizer
    :math:`(a, a^2)` with :math:`f^* = 0`, at the end of a long, curved, flat valley.
    Start ``(a - 2.2, a^2)`` = (-1.2, 1) for the default ``a = 1``.
    """
    return _Rosenbrock(_validate.number("a", a), _validate.number("b", b, low=0.0, low_open=True))


class _Beale(Surface):
    _C = (1.5, 2.25, 2.625)

    def __init__(self):
        super().__init__(
            "beale", 2, minimizers=[(3.0, 0.5)], f_min=0.0,
            bounds=((-4.5, 4.5), (-4.5, 4.5)), start=(1.0, 1.5),
        )

    def _terms(self, x, y):
        """u_i = c_i - x + x y^i for i = 1, 2, 3."""
        return [c - x + x * y**i for i, c in enumerate(self._C, start=1)]

    def _f(self, w):
        return sum(u**2 for u in self._terms(w[..., 0], w[..., 1]))

    def _grad(self, w):
        x, y = w
        g = np.zeros(2, dtype=w.dtype)
        for i, u in enumerate(self._terms(x, y), start=1):
            g += 2 * u * np.array([y**i - 1, i * x * y ** (i - 1)], dtype=w.dtype)
        return g

    def _hessian(self, w):
        x, y = w
        H = np.zeros((2, 2), dtype=w.dtype)
        for i, u in enumerate(self._terms(x, y), start=1):
            du = np.array([y**i - 1, i * x * y ** (i - 1)], dtype=w.dtype)
            # second derivatives of u_i: u_xx = 0, u_xy = i y^(i-1), u_yy = i (i-1) x y^(i-2)
            uxy = i * y ** (i - 1)
            uyy = i * (i - 1) * x * y ** (i - 2) if i >= 2 else 0.0
            H += 2 * (np.outer(du, du) + u * np.array([[0.0, uxy], [uxy, uyy]], dtype=w.dtype))
        return H


def beale():
    r"""Beale's function :math:`f(x, y) = \sum_{i=1}^{3} u_i^2`, with
    :math:`u_i = c_i - x + x y^i` and :math:`c = (1.5, 2.25, 2.625)`.

    :math:`\nabla f = 2 \sum_i u_i\,(y^i - 1,\ i x y^{i-1})`; global minimizer
    :math:`(3, 0.5)` with :math:`f^* = 0`; steep walls, flat plateaus.
    """
    return _Beale()


class _Ackley(Surface):
    def __init__(self):
        super().__init__(
            "ackley", 2, minimizers=[(0.0, 0.0)], f_min=0.0,
            bounds=((-3.0, 3.0), (-3.0, 3.0)), start=(-2.0, -2.0),
        )

    def _f(self, w):
        x, y = w[..., 0], w[..., 1]
        s = np.sqrt(0.5 * (x**2 + y**2))
        e2 = np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))
        # grouped so that f(0, 0) is e - exp(1): 0 up to the last bit of NumPy's exp
        return 20 * (1 - np.exp(-0.2 * s)) + (np.e - e2)

    def _parts(self, w):
        x, y = w
        s = np.sqrt(0.5 * (x**2 + y**2))
        e1 = np.exp(-0.2 * s)
        e2 = np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))
        return s, e1, e2

    def _grad(self, w):
        s, e1, e2 = self._parts(w)
        # cone term 2 w e1 / s has no limit at 0; use the subgradient 0 there
        cone = 2 * w * e1 / s if s > 0 else np.zeros_like(w)
        return cone + np.pi * np.sin(2 * np.pi * w) * e2

    def _hessian(self, w):
        s, e1, e2 = self._parts(w)
        if s == 0:
            raise ValueError("ackley is not twice differentiable at w = (0, 0)")
        cone = 2 * e1 * (np.eye(2) / s - (0.1 / s**2 + 0.5 / s**3) * np.outer(w, w))
        sn, cs = np.sin(2 * np.pi * w), np.cos(2 * np.pi * w)
        wave = e2 * (np.diag(2 * np.pi**2 * cs) - np.pi**2 * np.outer(sn, sn))
        return cone + wave


def ackley():
    r"""Ackley's function (2-D), many local minima around one global minimum at 0.

    .. math::
        f(x, y) = -20 \exp\!\big(-0.2\sqrt{(x^2 + y^2)/2}\big)
                  - \exp\!\big(\tfrac12(\cos 2\pi x + \cos 2\pi y)\big) + 20 + e.

    With :math:`s = \sqrt{(x^2+y^2)/2}`:
    :math:`\nabla f = 2 w e^{-0.2 s} / s + \pi \sin(2\pi w)\, e^{(\cos 2\pi x + \cos 2\pi y)/2}`.
    :math:`f^* = f(0, 0) = 0`. The first term is a cone, not differentiable at 0:
    ``grad`` returns 0 there (a subgradient) and ``hessian`` raises ValueError.
    Start (-2, -2), next to a local minimum.
    """
    return _Ackley()


class _Saddle(Surface):
    def __init__(self):
        super().__init__(
            "saddle", 2, minimizers=[], f_min=-np.inf, saddle_points=[(0.0, 0.0)],
            bounds=((-2.0, 2.0), (-2.0, 2.0)), start=(1.5, 0.05),
        )

    def _f(self, w):
        return w[..., 0] ** 2 - w[..., 1] ** 2

    def _grad(self, w):
        return np.array([2 * w[0], -2 * w[1]])

    def _hessian(self, w):
        return np.diag([2.0, -2.0])


def saddle():
    r"""The saddle :math:`f(x, y) = x^2 - y^2`.

    :math:`\nabla f = (2x, -2y)`, :math:`\nabla^2 f = \mathrm{diag}(2, -2)`: the only
    stationary point (0, 0) is a saddle; no minimizer (``f_min = -inf``). Start
    (1.5, 0.05), close to the stable direction, so gradient descent first approaches the
    saddle and then escapes along y.
    """
    return _Saddle()


_TILT = 0.3


class _TwoValleys(Surface):
    def __init__(self):
        # stationary points: 4x^3 - 4x + t = 0, y = 0; Newton-polish the cubic's roots
        roots = np.sort(np.roots([4.0, 0.0, -4.0, _TILT]).real)
        for _ in range(5):
            roots = roots - (4 * roots**3 - 4 * roots + _TILT) / (12 * roots**2 - 4)
        left, mid, right = roots
        mins = [np.array([left, 0.0]), np.array([right, 0.0])]
        vals = [float(self._f(m)) for m in mins]
        order = np.argsort(vals)
        super().__init__(
            "two_valleys", 2, minimizers=[mins[i] for i in order], f_min=min(vals),
            saddle_points=[(mid, 0.0)], bounds=((-2.0, 2.0), (-1.5, 1.5)), start=(1.8, 1.0),
        )
        self.local_f = [vals[i] for i in order]

    def _f(self, w):
        x, y = w[..., 0], w[..., 1]
        return (x**2 - 1) ** 2 + _TILT * x + y**2

    def _grad(self, w):
        x, y = w
        return np.array([4 * x * (x**2 - 1) + _TILT, 2 * y])

    def _hessian(self, w):
        x = w[0]
        return np.array([[12 * x**2 - 4, 0.0], [0.0, 2.0]])


def two_valleys():
    r"""A tilted double well: :math:`f(x, y) = (x^2 - 1)^2 + 0.3\,x + y^2`.

    :math:`\nabla f = (4x(x^2 - 1) + 0.3,\ 2y)`,
    :math:`\nabla^2 f = \mathrm{diag}(12x^2 - 4,\ 2)`. The stationary points are the roots
    of :math:`4x^3 - 4x + 0.3 = 0` on :math:`y = 0`: a deeper (global) minimum at
    :math:`x \approx -1.036` (:math:`f \approx -0.305`), a shallower local minimum at
    :math:`x \approx 0.960` (:math:`f \approx 0.294`) and a saddle between them at
    :math:`x \approx 0.075`. They are computed at construction (cubic roots polished by
    Newton's method); ``minimizers`` lists the global one first and ``local_f`` their values.
    The default start (1.8, 1.0) lies in the basin of the shallow minimum.
    """
    return _TwoValleys()


class _Booth(Surface):
    _A = np.array([[10.0, 8.0], [8.0, 10.0]])

    def __init__(self):
        super().__init__(
            "booth", 2, minimizers=[(1.0, 3.0)], f_min=0.0,
            bounds=((-4.0, 6.0), (-2.0, 8.0)), start=(-3.0, -1.0),
        )

    def _f(self, w):
        x, y = w[..., 0], w[..., 1]
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2

    def _grad(self, w):
        x, y = w
        r1, r2 = x + 2 * y - 7, 2 * x + y - 5
        return np.array([2 * r1 + 4 * r2, 4 * r1 + 2 * r2])

    def _hessian(self, w):
        return self._A.copy()


def booth():
    r"""Booth's function :math:`f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2`.

    A convex quadratic: :math:`\nabla^2 f = \begin{pmatrix}10 & 8\\ 8 & 10\end{pmatrix}`
    (eigenvalues 18 and 2), minimizer (1, 3), :math:`f^* = 0`.
    """
    return _Booth()


# ----------------------------------------------------------------------------- logistic
class _LogisticRegression(Surface):
    def __init__(self, X, y, l2):
        n, d = X.shape
        super().__init__("logistic_regression", d + 1, start=np.zeros(d + 1))
        self.X, self.y, self.l2, self.n = X, y, l2, n
        self._data_by_dtype = {np.dtype(np.float64): (X, y)}
        self._solved = False

    def _data(self, dtype):
        """(X, y) in the dtype of w, converted once (float32 w computes in float32)."""
        if dtype not in self._data_by_dtype:
            self._data_by_dtype[dtype] = (self.X.astype(dtype), self.y.astype(dtype))
        return self._data_by_dtype[dtype]

    def _logits(self, w):
        X, _ = self._data(w.dtype)
        # batched w (..., d+1) -> logits (..., n)
        return w[..., :-1] @ X.T + w[..., -1:]

    def _penalty_mask(self, dtype):
        mask = np.ones(self.dim, dtype=dtype)
        mask[-1] = 0  # the bias is not penalised
        return mask

    def _f(self, w):
        z = self._logits(w)
        _, y = self._data(w.dtype)
        loss = np.mean(np.logaddexp(0, z) - y * z, axis=-1)
        return loss + 0.5 * self.l2 * np.sum(w[..., :-1] ** 2, axis=-1)

    @staticmethod
    def _sigmoid(z):
        # exp(-log(1 + e^{-z})) never overflows
        return np.exp(-np.logaddexp(0, -z))

    def _grad(self, w):
        X, y = self._data(w.dtype)
        r = (self._sigmoid(self._logits(w)) - y) / self.n
        return np.append(X.T @ r, r.sum()) + self.l2 * self._penalty_mask(w.dtype) * w

    def _hessian(self, w):
        X, _ = self._data(w.dtype)
        p = self._sigmoid(self._logits(w))
        Xt = np.hstack([X, np.ones((self.n, 1), dtype=w.dtype)])
        H = (Xt.T * (p * (1 - p) / self.n)) @ Xt
        return H + self.l2 * np.diag(self._penalty_mask(w.dtype))

    def accuracy(self, w):
        """Fraction of samples with :math:`\\mathbb{1}[z_i > 0] = y_i`, :math:`z_i = x_i^\\top w + b`."""
        w = self._point(w)
        return float(np.mean((self._logits(w) > 0) == (self.y == 1)))

    def _solve(self):
        """Newton's method with backtracking from w = 0; no minimizer when it fails.

        It stops on the Newton decrement :math:`\\lambda^2 = g^\\top H^{-1} g`, which
        predicts :math:`f(w) - f^* \\approx \\lambda^2/2`, measured against the round-off of
        ``f`` itself: once the predicted decrease is below what float64 can resolve in
        ``f``, a line search can no longer tell a step from no step. The quadratic model is
        then exact to round-off, so the full Newton step is taken once more (quadratic
        convergence squares the decrement) and the point is accepted. No threshold here is
        absolute, so the answer does not depend on one machine's last bits.
        """
        if self._solved:
            return
        self._solved = True
        eps = np.finfo(np.float64).eps
        w = np.zeros(self.dim)
        for _ in range(100):
            g = self._grad(w)
            try:
                p = np.linalg.solve(self._hessian(w), g)
            except np.linalg.LinAlgError:
                return
            decrement, f0 = g @ p, self._f(w)
            if not np.isfinite(decrement) or decrement < 0:
                return
            # f is a mean of n terms (pairwise summation): a few dozen ulps of |f| bound its
            # round-off with room to spare for every n this course uses.
            resolution = 64 * eps * abs(f0)
            t = 1.0
            while (decrement > resolution and t > 1e-10
                   and self._f(w - t * p) > f0 - 1e-4 * t * decrement):
                t *= 0.5
            if decrement <= resolution or t <= 1e-10:
                # Converged to round-off (the last step is the exact full Newton step),
                # unless the full step makes f clearly worse: then Newton failed.
                if self._f(w - p) > f0 + resolution:
                    return
                w = w - p
                break
            w = w - t * p
        else:
            return
        eig = np.linalg.eigvalsh(self._hessian(w))
        # On (nearly) separable data without l2 the Hessian vanishes as |w| grows: there
        # the small gradient does not mean a minimizer was found.
        if eig[0] > 1e-8 * max(eig[-1], 1.0):
            self._minimizers = [w]
            self._f_min = float(self._f(w))

    @property
    def minimizers(self):
        self._solve()
        return super().minimizers

    @property
    def f_min(self):
        self._solve()
        return self._f_min

    @property
    def bounds(self):
        if self.dim != 2:
            return None
        m = self.minimizers
        c = m[0] if m else np.zeros(2)
        return ((c[0] - 4.0, c[0] + 4.0), (c[1] - 4.0, c[1] + 4.0))


def logistic_regression(X, y, l2=0.0):
    r"""Binary logistic regression, mean log-loss with the bias folded into ``w``.

    ``X`` has shape ``(n, d)``, ``y`` has ``n`` labels in {0, 1}; ``w`` has ``d + 1``
    entries, the last one the bias :math:`b`. With :math:`z_i = x_i^\top w_{1:d} + b` and
    :math:`\sigma(z) = 1/(1 + e^{-z})`:

    .. math::
        f(w) = \frac1n \sum_i \big[\log(1 + e^{z_i}) - y_i z_i\big]
               + \frac{\lambda}{2} \|w_{1:d}\|^2,\qquad
        \nabla f(w) = \frac1n \tilde X^\top (\sigma(z) - y) + \lambda (w_{1:d}, 0),

    :math:`\nabla^2 f = \frac1n \tilde X^\top \mathrm{diag}(\sigma(z)(1 - \sigma(z)))
    \tilde X + \lambda\,\mathrm{diag}(1, \dots, 1, 0)`, where :math:`\tilde X = [X, 1]` and
    :math:`\lambda` = ``l2`` (the bias is not penalised). :math:`\log(1 + e^{z})` is
    computed as ``np.logaddexp(0, z)``, which never overflows. ``accuracy(w)`` predicts
    class 1 when :math:`z_i > 0`. ``minimizers`` and ``f_min`` are computed on first use by
    Newton's method with backtracking; they are empty/None when no minimizer exists
    (e.g. separable data with ``l2 = 0``).
    """
    X = np.array(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n, d), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if y.dtype.kind not in "biuf" or not np.all((y == 0) | (y == 1)):
        raise ValueError("y must contain only the labels 0 and 1")
    l2 = _validate.number("l2", l2, low=0.0)
    return _LogisticRegression(X, y.astype(np.float64), l2)


SURFACES = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "ackley": ackley,
    "saddle": saddle,
    "two_valleys": two_valleys,
    "booth": booth,
}
