"""Checks for assignment 1, gradient descent and numerical gradients.

Graded functions (the notebook's exact signatures):

- ``numerical_gradient(f, x, h=1e-5)``: central differences of a scalar function,
  :math:`\\partial f/\\partial x_i \\approx (f(x + h e_i) - f(x - h e_i)) / (2h)`.
- ``numerical_gradient_array(f, x, df, h=1e-5)``: the gradient of
  :math:`\\sum_j f(x)_j\\,df_j` for an array-valued ``f`` (what backprop passes down).
- ``rel_error(a, b)``: :math:`\\max_i |a_i-b_i| / \\max(|a_i|+|b_i|, 10^{-12})`.
- ``gradient_descent(grad, w0, lr, tol=1e-6, max_iters=1000)`` ->
  ``(trajectory, num_iters)``: :math:`w_{k+1} = w_k - \\eta \\nabla f(w_k)`, stopping at the
  first :math:`k` with :math:`\\|\\nabla f(w_k)\\|_2 \\le` tol, or after ``max_iters`` steps.
- ``lr_sweep(A, w0, lrs, num_steps)``: :math:`f(w_T)` after ``num_steps`` GD steps on
  :math:`f(w) = \\tfrac12 w^\\top A w` for each learning rate.
- ``max_stable_lr(A)``: :math:`2/L`, :math:`L = \\lambda_{\\max}(A)`.
"""
from __future__ import annotations

import numpy as np

from .core import (Case, Check, QuadraticGradient, Tolerance, Variant, case_rng, make_check, spd_matrix,
                   table)


# ----------------------------------------------------------------------------- references


def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    xp = np.array(x, copy=True)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        fp = f(xp)
        xp[i] = old - h
        fm = f(xp)
        xp[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numerical_gradient_array(f, x, df, h=1e-5):
    grad = np.zeros_like(x)
    xp = np.array(x, copy=True)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        fp = np.array(f(xp), copy=True)
        xp[i] = old - h
        fm = np.array(f(xp), copy=True)
        xp[i] = old
        grad[i] = np.sum((fp - fm) * df) / (2 * h)
    return grad


def rel_error(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def gradient_descent(grad, w0, lr, tol=1e-6, max_iters=1000):
    w = np.array(w0, copy=True)
    trajectory = [w.copy()]
    k = 0
    while k < max_iters:
        g = grad(w)
        if np.linalg.norm(g) <= tol:
            break
        w = w - lr * g
        trajectory.append(w.copy())
        k += 1
    return np.stack(trajectory), k


def lr_sweep(A, w0, lrs, num_steps):
    out = np.empty(len(lrs))
    for j, lr in enumerate(lrs):
        w = np.array(w0, dtype=np.float64, copy=True)
        for _ in range(num_steps):
            w = w - lr * (A @ w)
        out[j] = 0.5 * w @ A @ w
    return out


def max_stable_lr(A):
    return 2.0 / float(np.max(np.linalg.eigvalsh(A)))


# ----------------------------------------------------------------------------- variants
# Each variant is a self-contained top-level def (numpy as np only): the end-to-end test
# pastes its source into a submission notebook.


def numgrad_forward(f, x, h=1e-5):
    grad = np.zeros_like(x)
    xp = np.array(x, copy=True)
    f0 = f(xp)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        grad[i] = (f(xp) - f0) / h
        xp[i] = old
    return grad


def numgrad_precedence(f, x, h=1e-5):
    grad = np.zeros_like(x)
    xp = np.array(x, copy=True)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        fp = f(xp)
        xp[i] = old - h
        fm = f(xp)
        xp[i] = old
        grad[i] = fp - fm / (2 * h)
    return grad


def numgrad_no_half(f, x, h=1e-5):
    grad = np.zeros_like(x)
    xp = np.array(x, copy=True)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        fp = f(xp)
        xp[i] = old - h
        fm = f(xp)
        xp[i] = old
        grad[i] = (fp - fm) / h
    return grad


def numgrad_float64_out(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    xp = np.array(x, copy=True)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        fp = f(xp)
        xp[i] = old - h
        fm = f(xp)
        xp[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad.astype(np.float64)


def numgrad_in_place(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numgrad_array_ignores_df(f, x, df, h=1e-5):
    grad = np.zeros_like(x)
    xp = np.array(x, copy=True)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        fp = np.array(f(xp), copy=True)
        xp[i] = old - h
        fm = np.array(f(xp), copy=True)
        xp[i] = old
        grad[i] = np.sum(fp - fm) / (2 * h)
    return grad


def numgrad_array_forward(f, x, df, h=1e-5):
    grad = np.zeros_like(x)
    xp = np.array(x, copy=True)
    f0 = np.array(f(xp), copy=True)
    for i in np.ndindex(x.shape):
        old = xp[i]
        xp[i] = old + h
        grad[i] = np.sum((np.array(f(xp)) - f0) * df) / h
        xp[i] = old
    return grad


def rel_error_mean(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.mean(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def rel_error_max_denominator(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)))


def rel_error_no_floor(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))


def gd_ascent(grad, w0, lr, tol=1e-6, max_iters=1000):
    w = np.array(w0, copy=True)
    trajectory = [w.copy()]
    k = 0
    while k < max_iters:
        g = grad(w)
        if np.linalg.norm(g) <= tol:
            break
        w = w + lr * g
        trajectory.append(w.copy())
        k += 1
    return np.stack(trajectory), k


def gd_test_after_step(grad, w0, lr, tol=1e-6, max_iters=1000):
    w = np.array(w0, copy=True)
    trajectory = [w.copy()]
    k = 0
    while k < max_iters:
        g = grad(w)
        w = w - lr * g
        trajectory.append(w.copy())
        k += 1
        if np.linalg.norm(g) <= tol:
            break
    return np.stack(trajectory), k


def gd_squared_norm(grad, w0, lr, tol=1e-6, max_iters=1000):
    w = np.array(w0, copy=True)
    trajectory = [w.copy()]
    k = 0
    while k < max_iters:
        g = grad(w)
        if np.sum(g**2) <= tol:
            break
        w = w - lr * g
        trajectory.append(w.copy())
        k += 1
    return np.stack(trajectory), k


def gd_extra_step(grad, w0, lr, tol=1e-6, max_iters=1000):
    w = np.array(w0, copy=True)
    trajectory = [w.copy()]
    k = 0
    while k <= max_iters:
        g = grad(w)
        if np.linalg.norm(g) <= tol:
            break
        w = w - lr * g
        trajectory.append(w.copy())
        k += 1
    return np.stack(trajectory), k


def gd_no_start(grad, w0, lr, tol=1e-6, max_iters=1000):
    w = np.array(w0, copy=True)
    trajectory = []
    k = 0
    while k < max_iters:
        g = grad(w)
        if np.linalg.norm(g) <= tol:
            break
        w = w - lr * g
        trajectory.append(w.copy())
        k += 1
    if not trajectory:
        trajectory.append(w.copy())
    return np.stack(trajectory), k


def gd_in_place(grad, w0, lr, tol=1e-6, max_iters=1000):
    w = w0
    trajectory = [w.copy()]
    k = 0
    while k < max_iters:
        g = grad(w)
        if np.linalg.norm(g) <= tol:
            break
        w -= lr * g
        trajectory.append(w.copy())
        k += 1
    return np.stack(trajectory), k


def sweep_half_gradient(A, w0, lrs, num_steps):
    out = np.empty(len(lrs))
    for j, lr in enumerate(lrs):
        w = np.array(w0, dtype=np.float64, copy=True)
        for _ in range(num_steps):
            w = w - lr * 0.5 * (A @ w)
        out[j] = 0.5 * w @ A @ w
    return out


def sweep_no_half_loss(A, w0, lrs, num_steps):
    out = np.empty(len(lrs))
    for j, lr in enumerate(lrs):
        w = np.array(w0, dtype=np.float64, copy=True)
        for _ in range(num_steps):
            w = w - lr * (A @ w)
        out[j] = w @ A @ w
    return out


def sweep_shared_start(A, w0, lrs, num_steps):
    out = np.empty(len(lrs))
    w = np.array(w0, dtype=np.float64, copy=True)
    for j, lr in enumerate(lrs):
        for _ in range(num_steps):
            w = w - lr * (A @ w)
        out[j] = 0.5 * w @ A @ w
    return out


def stable_lr_one_over_l(A):
    return 1.0 / float(np.max(np.linalg.eigvalsh(A)))


def stable_lr_diagonal(A):
    return 2.0 / float(np.max(np.diag(A)))


def stable_lr_smallest(A):
    return 2.0 / float(np.min(np.linalg.eigvalsh(A)))


VARIANTS = {
    "numerical_gradient": [
        Variant("forward", "a forward difference (f(x+h) - f(x)) / h instead of the central "
                "difference", numgrad_forward, frozenset({"numgrad"})),
        Variant("precedence", "operator precedence: f(x+h) - f(x-h) / (2h) divides only the "
                "second term", numgrad_precedence, frozenset({"numgrad"})),
        Variant("no_half", "dividing by h instead of 2h", numgrad_no_half, frozenset({"numgrad"})),
        Variant("float64_out", "np.zeros(x.shape) makes the gradient float64 for a float32 x "
                "(use np.zeros_like)", numgrad_float64_out, frozenset({"numgrad_contract"})),
        Variant("in_place", "perturbing x in place without restoring it", numgrad_in_place,
                frozenset({"numgrad", "numgrad_contract"})),
    ],
    "numerical_gradient_array": [
        Variant("ignores_df", "summing f(x+h) - f(x-h) without weighting by df",
                numgrad_array_ignores_df, frozenset({"numgrad_array"})),
        Variant("forward", "a forward difference instead of the central difference",
                numgrad_array_forward, frozenset({"numgrad_array"})),
    ],
    "rel_error": [
        Variant("mean", "the mean instead of the maximum of the elementwise relative errors",
                rel_error_mean, frozenset({"rel_error"})),
        Variant("max_denominator", "max(|a|, |b|) instead of |a| + |b| in the denominator",
                rel_error_max_denominator, frozenset({"rel_error"})),
        Variant("no_floor", "no floor in the denominator (0/0 = nan when a = b = 0)",
                rel_error_no_floor, frozenset({"rel_error"})),
    ],
    "gradient_descent": [
        Variant("ascent", "sign error: w + lr * g climbs the function", gd_ascent,
                frozenset({"gd_trajectory", "gd_stopping"})),
        Variant("test_after_step", "testing the gradient norm after taking the step (one step "
                "too many)", gd_test_after_step, frozenset({"gd_stopping"})),
        Variant("squared_norm", "comparing the squared norm ||g||^2 with tol",
                gd_squared_norm, frozenset({"gd_stopping"})),
        Variant("extra_step", "off by one: max_iters + 1 steps (while k <= max_iters)",
                gd_extra_step, frozenset({"gd_trajectory"})),
        Variant("no_start", "a trajectory that does not start with w0", gd_no_start,
                frozenset({"gd_trajectory"})),
        Variant("in_place", "updating w0 in place (w -= ...) changes the caller's array",
                gd_in_place, frozenset({"gd_trajectory"})),
    ],
    "lr_sweep": [
        Variant("half_gradient", "gradient (1/2) A w instead of A w", sweep_half_gradient,
                frozenset({"lr_sweep"})),
        Variant("no_half_loss", "f(w) = w^T A w without the factor 1/2", sweep_no_half_loss,
                frozenset({"lr_sweep"})),
        Variant("shared_start", "not restarting from w0 for each learning rate",
                sweep_shared_start, frozenset({"lr_sweep"})),
    ],
    "max_stable_lr": [
        Variant("one_over_l", "1/L instead of 2/L", stable_lr_one_over_l, frozenset({"max_stable_lr"})),
        Variant("diagonal", "the largest diagonal entry of A instead of its largest eigenvalue",
                stable_lr_diagonal, frozenset({"max_stable_lr"})),
        Variant("smallest", "the smallest eigenvalue instead of the largest",
                stable_lr_smallest, frozenset({"max_stable_lr"})),
    ],
}

# ----------------------------------------------------------------------------- test problems


class _Smooth:
    """f(x) = sum(sin(3 x)) + 1/2 x^T B x + sum(x^4)/4 + c^T x: curved enough that a forward
    difference misses by ~1e-5 while central differences agree to ~1e-9.  A class (not a
    closure) so cases print and copy cleanly."""

    def __init__(self, n, seed):
        rng = case_rng(seed)
        M = rng.standard_normal((n, n))
        self.B = M @ M.T / n + np.eye(n)
        self.c = rng.standard_normal(n)

    def __call__(self, x):
        z = np.asarray(x).reshape(-1)
        return np.sum(np.sin(3 * z)) + 0.5 * z @ self.B @ z + np.sum(z**4) / 4 + self.c @ z


class _Layer:
    """f(x) = tanh(x W) (array valued), x of shape (n, d)."""

    def __init__(self, d, k, seed):
        self.W = case_rng(seed).standard_normal((d, k))

    def __call__(self, x):
        return np.tanh(x @ self.W)


def _rot(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


# ----------------------------------------------------------------------------- checks

_TIGHT = Tolerance(rtol=1e-6, atol=1e-8)
_SHAPE_ONLY = Tolerance(rtol=0.0, atol=1e30)  # contract checks grade shape/dtype only


def _numgrad_visible():
    x = np.array([0.3, -1.2, 2.0])
    return [
        Case("f = sum(sin(3x)) + ..., x = [0.3, -1.2, 2.0]", (_Smooth(3, 0), x)),
        Case("same f, h = 1e-3", (_Smooth(3, 0), x), {"h": 1e-3}),
    ]


def _numgrad_hidden():
    rng = case_rng(101)
    cases = []
    for shape in [(1,), (5,), (2, 3), (3, 1, 2)]:
        n = int(np.prod(shape))
        x = rng.standard_normal(shape)
        cases.append(Case(f"random x of shape {shape}", (_Smooth(n, n), x)))
    cases.append(Case("x = 0 (zero gradient of sin + quadratic part cancels)",
                      (_Smooth(4, 9), np.zeros(4)), {"h": 1e-4}))
    return cases


def _numgrad_contract_cases():
    rng = case_rng(102)
    return [
        Case("float32 x of shape (4,), h = 1e-2",
             (_Smooth(4, 4), rng.standard_normal(4).astype(np.float32)), {"h": 1e-2}),
        Case("float64 x of shape (2, 2)", (_Smooth(4, 5), rng.standard_normal((2, 2)))),
    ]


check_numgrad, check_numgrad_hidden = make_check(
    "numerical_gradient", numerical_gradient, _numgrad_visible, _numgrad_hidden,
    tol=_TIGHT, variants=VARIANTS["numerical_gradient"])

check_numgrad_contract, check_numgrad_contract_hidden = make_check(
    "numerical_gradient", numerical_gradient,
    lambda: _numgrad_contract_cases()[:1], _numgrad_contract_cases,
    tol=_SHAPE_ONLY, variants=VARIANTS["numerical_gradient"], check_dtype=True,
    no_mutation=True)


def _numgrad_array_visible():
    rng = case_rng(201)
    x = rng.standard_normal((2, 3))
    df = rng.standard_normal((2, 4))
    return [Case("f(x) = tanh(x W), x of shape (2, 3), df of shape (2, 4)", (_Layer(3, 4, 0), x, df))]


def _numgrad_array_hidden():
    rng = case_rng(202)
    cases = []
    for n, d, k in [(1, 1, 1), (3, 2, 5), (4, 5, 2)]:
        x = rng.standard_normal((n, d))
        df = rng.standard_normal((n, k))
        cases.append(Case(f"x of shape {(n, d)}, df of shape {(n, k)}", (_Layer(d, k, n + d), x, df)))
    x = rng.standard_normal((2, 3))
    cases.append(Case("df = 0 (gradient must be 0)", (_Layer(3, 2, 7), x, np.zeros((2, 2)))))
    return cases


check_numgrad_array, check_numgrad_array_hidden = make_check(
    "numerical_gradient_array", numerical_gradient_array, _numgrad_array_visible,
    _numgrad_array_hidden, tol=_TIGHT, variants=VARIANTS["numerical_gradient_array"])


def _rel_error_visible():
    return [
        Case("a = [1, 2, 3], b = [1, 2.2, 2.9]", (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.2, 2.9]))),
        Case("a = b = [0, 1]", (np.array([0.0, 1.0]), np.array([0.0, 1.0]))),
    ]


def _rel_error_hidden():
    rng = case_rng(301)
    cases = []
    for shape in [(7,), (3, 4)]:
        a = rng.standard_normal(shape)
        cases.append(Case(f"random a, b = a + noise, shape {shape}",
                          (a, a + 1e-3 * rng.standard_normal(shape))))
    cases.append(Case("a = b = zeros(3) (0/0 must not give nan)", (np.zeros(3), np.zeros(3))))
    cases.append(Case("a = [1e-3, 5], b = [2e-3, 5]", (np.array([1e-3, 5.0]), np.array([2e-3, 5.0]))))
    return cases


check_rel_error, check_rel_error_hidden = make_check(
    "rel_error", rel_error, _rel_error_visible, _rel_error_hidden,
    tol=Tolerance(rtol=1e-9, atol=1e-12), variants=VARIANTS["rel_error"])


def _gd_problem(n, kappa, seed):
    rng = case_rng(seed)
    A = spd_matrix(n, kappa, rng)
    b = rng.standard_normal(n)
    return QuadraticGradient(A, b), rng.standard_normal(n), 1.0 / kappa


def _gd_traj_visible():
    grad, w0, L_inv = _gd_problem(2, 10.0, 1)
    return [Case("quadratic with kappa = 10, lr = 1/L, tol = 0, max_iters = 5",
                 (grad, w0, L_inv), {"tol": 0.0, "max_iters": 5})]


def _gd_traj_hidden():
    cases = []
    for n, kappa, seed, steps in [(1, 2.0, 11, 3), (3, 30.0, 12, 20), (5, 4.0, 13, 1)]:
        grad, w0, L_inv = _gd_problem(n, kappa, seed)
        cases.append(Case(f"dim {n}, kappa = {kappa}, lr = 1/L, tol = 0, max_iters = {steps}",
                          (grad, w0, L_inv), {"tol": 0.0, "max_iters": steps}))
    grad, w0, L_inv = _gd_problem(2, 5.0, 14)
    cases.append(Case("max_iters = 0 (trajectory is just [w0])", (grad, w0, L_inv),
                      {"tol": 0.0, "max_iters": 0}))
    cases.append(Case("(3, 2)-shaped w0 with tol = 0 and max_iters = 4",
                      (_MatGrad(), np.arange(6.0).reshape(3, 2), 0.1), {"tol": 0.0, "max_iters": 4}))
    return cases


class _MatGrad:
    """grad of f(W) = 1/2 ||W - 1||_F^2 for a matrix-shaped parameter."""

    def __call__(self, w):
        return w - 1.0


def _gd_stop_visible():
    grad, w0, L_inv = _gd_problem(2, 10.0, 2)
    return [Case("kappa = 10, lr = 1/L, tol = 1e-3, max_iters = 1000",
                 (grad, w0, L_inv), {"tol": 1e-3, "max_iters": 1000})]


def _gd_stop_hidden():
    cases = []
    for n, kappa, seed, tol in [(3, 50.0, 21, 1e-6), (4, 2.0, 22, 0.5), (2, 10.0, 23, 2e-2)]:
        grad, w0, L_inv = _gd_problem(n, kappa, seed)
        cases.append(Case(f"dim {n}, kappa = {kappa}, lr = 1/L, tol = {tol}",
                          (grad, w0, L_inv), {"tol": tol, "max_iters": 10_000}))
    grad, w0, L_inv = _gd_problem(2, 10.0, 24)
    cases.append(Case("start at the minimizer (0 iterations)",
                      (grad, np.linalg.solve(grad.A, grad.b), L_inv), {"tol": 1e-8}))
    return cases


check_gd_trajectory, check_gd_trajectory_hidden = make_check(
    "gradient_descent", gradient_descent, _gd_traj_visible, _gd_traj_hidden,
    tol=Tolerance(rtol=1e-9, atol=1e-12), variants=VARIANTS["gradient_descent"],
    select=lambda out: out[0], no_mutation=True)

check_gd_stopping, check_gd_stopping_hidden = make_check(
    "gradient_descent", gradient_descent, _gd_stop_visible, _gd_stop_hidden,
    variants=VARIANTS["gradient_descent"], select=lambda out: int(out[1]))


def _sweep_visible():
    A = np.diag([1.0, 10.0])
    return [Case("A = diag(1, 10), w0 = [1, 1], lrs = [0.05, 0.1, 0.19, 0.21], 30 steps",
                 (A, np.array([1.0, 1.0]), [0.05, 0.1, 0.19, 0.21], 30))]


def _sweep_hidden():
    rng = case_rng(401)
    A = spd_matrix(3, 20.0, rng)
    L = float(np.max(np.linalg.eigvalsh(A)))
    lrs = [0.5 / L, 1.0 / L, 1.9 / L, 2.1 / L]
    return [
        Case("rotated A with kappa = 20, lrs around 2/L, 25 steps", (A, rng.standard_normal(3), lrs, 25)),
        Case("A = [[2]], w0 = [3], lrs = [0.5, 1.0], 0 steps", (np.array([[2.0]]), np.array([3.0]), [0.5, 1.0], 0)),
        Case("A = diag(1, 4), one step, a single lr = 0.25", (np.diag([1.0, 4.0]), np.array([1.0, -2.0]), [0.25], 1)),
    ]


check_lr_sweep, check_lr_sweep_hidden = make_check(
    "lr_sweep", lr_sweep, _sweep_visible, _sweep_hidden,
    tol=Tolerance(rtol=1e-9, atol=1e-12), variants=VARIANTS["lr_sweep"])


def _stable_visible():
    return [Case("A = diag(1, 10)", (np.diag([1.0, 10.0]),))]


def _stable_hidden():
    rng = case_rng(501)
    R = _rot(0.6)
    return [
        Case("A = R diag(1, 10) R^T, rotated by 0.6 rad", (R @ np.diag([1.0, 10.0]) @ R.T,)),
        Case("random 4x4 SPD A with kappa = 100", (spd_matrix(4, 100.0, rng),)),
        Case("A = [[3]]", (np.array([[3.0]]),)),
    ]


check_max_stable_lr, check_max_stable_lr_hidden = make_check(
    "max_stable_lr", max_stable_lr, _stable_visible, _stable_hidden,
    tol=Tolerance(rtol=1e-9, atol=1e-12), variants=VARIANTS["max_stable_lr"])


# ----------------------------------------------------------------------------- the graded parts

#: every graded part, in the order of the notebook (its id is the grade_id of the test cell)
GRADED = [
    Check("numgrad", 2, "numerical_gradient", check_numgrad, check_numgrad_hidden),
    Check("numgrad_contract", 1, "numerical_gradient", check_numgrad_contract, check_numgrad_contract_hidden),
    Check("numgrad_array", 2, "numerical_gradient_array", check_numgrad_array, check_numgrad_array_hidden),
    Check("rel_error", 1, "rel_error", check_rel_error, check_rel_error_hidden),
    Check("gd_trajectory", 2, "gradient_descent", check_gd_trajectory, check_gd_trajectory_hidden),
    Check("gd_stopping", 2, "gradient_descent", check_gd_stopping, check_gd_stopping_hidden),
    Check("lr_sweep", 2, "lr_sweep", check_lr_sweep, check_lr_sweep_hidden),
    Check("max_stable_lr", 1, "max_stable_lr", check_max_stable_lr, check_max_stable_lr_hidden),
]
CHECKS, FUNCTIONS = table(GRADED)
