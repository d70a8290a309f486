"""course_lib.surfaces: analytic derivatives vs finite differences, known minima, torch."""

import numpy as np
import pytest
import torch

from course_lib import surfaces as S
from course_lib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error


def _logreg_data(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = (X @ w_true + 0.5 + rng.normal(scale=1.5, size=n) > 0).astype(np.int64)
    return X, y


def all_surfaces():
    X, y = _logreg_data()
    return {
        **{name: factory() for name, factory in S.SURFACES.items()},
        "quadratic_kappa": S.quadratic(condition_number=30.0, angle=0.6, b=[1.0, -2.0], c=0.5),
        "quadratic_5d": S.quadratic(condition_number=100.0, dim=5),
        "rosenbrock_a2": S.rosenbrock(a=2.0, b=20.0),
        "logreg": S.logistic_regression(X, y),
        "logreg_l2": S.logistic_regression(X, y, l2=0.3),
    }


SURFS = all_surfaces()


def _random_points(s, k=5, seed=1):
    rng = np.random.default_rng(seed)
    if s.bounds is None:
        return rng.normal(size=(k, s.dim))
    lo = np.array([b[0] for b in s.bounds])
    hi = np.array([b[1] for b in s.bounds])
    return lo + (hi - lo) * rng.uniform(size=(k, s.dim))


@pytest.mark.parametrize("name", sorted(SURFS))
def test_gradient_matches_finite_differences(name):
    s = SURFS[name]
    for w in _random_points(s):
        assert rel_error(s.grad(w), numerical_gradient(s.f, w)) < 1e-6, w


@pytest.mark.parametrize("name", sorted(SURFS))
def test_hessian_matches_finite_differences_of_gradient(name):
    s = SURFS[name]
    for w in _random_points(s):
        H = s.hessian(w)
        # row i of the Hessian is the gradient of the i-th gradient component
        H_num = np.array([numerical_gradient_array(s.grad, w, np.eye(s.dim)[i])
                          for i in range(s.dim)])
        assert rel_error(H, H_num) < 1e-6, w
        np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SURFS))
def test_batched_f_scalar_f_dtypes_and_no_mutation(name):
    s = SURFS[name]
    pts = _random_points(s, k=6).reshape(2, 3, s.dim)
    before = pts.copy()
    batched = s.f(pts)
    assert batched.shape == (2, 3)
    loop = np.array([[s.f(p) for p in row] for row in pts])
    np.testing.assert_allclose(batched, loop, rtol=1e-12)
    np.testing.assert_array_equal(pts, before)
    w = pts[0, 0]
    assert np.ndim(s.f(w)) == 0 and s.f(w).dtype == np.float64
    w32 = w.astype(np.float32)
    for fn in (s.f, s.grad, s.hessian):
        out32, out64 = fn(w32), fn(w32.astype(np.float64))
        assert out32.dtype == np.float32
        np.testing.assert_allclose(out32, out64, rtol=2e-3, atol=2e-3 * np.max(np.abs(out64)))
    assert s.f(pts.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        s.grad(np.zeros(s.dim + 1))
    with pytest.raises(ValueError, match="shape"):
        s.f(np.zeros((4, s.dim + 1)))


def test_rosenbrock_minimum():
    s = S.rosenbrock()
    # Exact by IEEE: (a - x) and (y - x^2) are exactly 0 at the minimizer (here and below).
    assert s.f([1.0, 1.0]) == 0.0
    np.testing.assert_array_equal(s.grad(np.array([1.0, 1.0])), [0.0, 0.0])
    assert np.all(np.linalg.eigvalsh(s.hessian(np.array([1.0, 1.0]))) > 0)
    np.testing.assert_array_equal(s.minimizers[0], [1.0, 1.0])
    assert s.f([-1.2, 1.0]) == pytest.approx(24.2)  # the classic start point
    s2 = S.rosenbrock(a=2.0, b=20.0)
    assert s2.f([2.0, 4.0]) == 0.0 and np.all(s2.grad(np.array([2.0, 4.0])) == 0)


def test_beale_minimum():
    s = S.beale()
    w = np.array([3.0, 0.5])
    # Exact by IEEE: every term (1.5 - x + x y^k) is a sum of dyadic numbers that is 0.
    assert s.f(w) == 0.0
    np.testing.assert_array_equal(s.grad(w), [0.0, 0.0])
    assert np.all(np.linalg.eigvalsh(s.hessian(w)) > 0)
    # independent check: the smallest value on a fine grid is next to (3, 0.5)
    xs = np.linspace(-4.5, 4.5, 361)
    grid = np.stack(np.meshgrid(xs, xs), axis=-1)
    vals = s.f(grid)
    iy, ix = np.unravel_index(np.argmin(vals), vals.shape)
    assert abs(xs[ix] - 3.0) < 0.03 and abs(xs[iy] - 0.5) < 0.03


def test_ackley_minimum():
    s = S.ackley()
    # e - exp(1) depends on the last bit of NumPy's exp, which differs between SIMD paths.
    assert abs(s.f([0.0, 0.0])) <= 4 * np.finfo(float).eps and s.f_min == 0.0
    np.testing.assert_array_equal(s.grad(np.zeros(2)), [0.0, 0.0])
    xs = np.linspace(-3, 3, 241)
    grid = np.stack(np.meshgrid(xs, xs), axis=-1)
    vals = s.f(grid)
    assert vals.min() == 0.0 and np.count_nonzero(vals <= 0.0) == 1
    with pytest.raises(ValueError, match="not twice differentiable"):
        s.hessian(np.zeros(2))


def test_booth_minimum():
    s = S.booth()
    assert s.f([1.0, 3.0]) == 0.0 and np.all(s.grad(np.array([1.0, 3.0])) == 0)
    np.testing.assert_allclose(np.linalg.eigvalsh(s.hessian(np.zeros(2))), [2.0, 18.0])


def test_saddle():
    s = S.saddle()
    assert s.minimizers == [] and s.f_min == -np.inf
    np.testing.assert_array_equal(s.grad(np.zeros(2)), [0.0, 0.0])
    np.testing.assert_array_equal(np.linalg.eigvalsh(s.hessian(np.zeros(2))), [-2.0, 2.0])
    assert s.f([0.0, 3.0]) == -9.0 and s.f([3.0, 0.0]) == 9.0  # small integers: exact


def test_two_valleys_minimizers():
    s = S.two_valleys()
    assert len(s.minimizers) == 2
    for m in s.minimizers:
        np.testing.assert_allclose(s.grad(m), [0.0, 0.0], atol=1e-13)
        assert np.all(np.linalg.eigvalsh(s.hessian(m)) > 0.5)
    (x1, _), (x2, _) = s.minimizers
    assert x1 < 0 < x2  # one valley on each side
    f1, f2 = s.f(s.minimizers[0]), s.f(s.minimizers[1])
    assert f1 < f2 - 0.5  # distinct depths; the global one is listed first
    assert s.f_min == f1 and s.local_f == [f1, f2]
    (sp,) = s.saddle_points
    np.testing.assert_allclose(s.grad(sp), [0.0, 0.0], atol=1e-13)
    ev = np.linalg.eigvalsh(s.hessian(sp))
    assert ev[0] < 0 < ev[1]
    # independent: grid minimum next to the global minimizer
    xs = np.linspace(-2, 2, 401)
    grid = np.stack(np.meshgrid(xs, xs), axis=-1)
    vals = s.f(grid)
    iy, ix = np.unravel_index(np.argmin(vals), vals.shape)
    assert abs(xs[ix] - x1) < 0.01 and abs(xs[iy]) < 0.01
    assert vals.min() >= f1


def test_quadratic_condition_number_and_minimizer():
    s = S.quadratic(condition_number=50.0, angle=0.7, b=[1.0, 2.0], c=3.0)
    assert np.linalg.cond(s.A) == pytest.approx(50.0, rel=1e-10)
    # the eigenvalues of a rotated matrix come from LAPACK: equal to round-off, not bits
    assert (s.kappa, s.L, s.ell, s.mu) == pytest.approx((50.0, 50.0, 1.0, 1.0), rel=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(s.A), [1.0, 50.0], rtol=1e-12)
    # the eigenvector of eigenvalue 1 is the direction at angle 0.7
    u = np.array([np.cos(0.7), np.sin(0.7)])
    np.testing.assert_allclose(s.A @ u, u, atol=1e-12)
    xstar = np.linalg.solve(s.A, [1.0, 2.0])
    np.testing.assert_allclose(s.minimizers[0], xstar, rtol=1e-12)
    np.testing.assert_allclose(s.minimizer, xstar, rtol=1e-12)
    np.testing.assert_allclose(s.grad(xstar), [0.0, 0.0], atol=1e-12)
    assert s.f(xstar) == pytest.approx(s.f_min, rel=1e-12)
    assert s.f(xstar + [0.1, 0.0]) > s.f_min

    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    q = S.quadratic(A=A)
    lo, hi = np.linalg.eigvalsh(A)
    assert q.L == pytest.approx(hi) and q.ell == pytest.approx(lo)
    assert q.kappa == pytest.approx(np.linalg.cond(A), rel=1e-12)
    q5 = S.quadratic(condition_number=100.0, dim=5)
    assert q5.dim == 5 and np.linalg.cond(q5.A) == pytest.approx(100.0)
    assert S.quadratic().kappa == 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(A=[[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (dict(A=[[1.0, 0.0], [0.0, -1.0]]), "positive definite"),
        (dict(A=np.eye(2), condition_number=3.0), "either A or condition_number"),
        (dict(condition_number=0.5), "condition_number"),
        (dict(b=[1.0, 2.0, 3.0]), "b must have shape"),
        (dict(A=np.ones((2, 3))), "square"),
        (dict(condition_number=4.0, dim=3, angle=0.2), "angle"),
    ],
)
def test_quadratic_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.quadratic(**kwargs)


def _torch_logreg(X, y, w, l2):
    Xt = torch.tensor(X)
    yt = torch.tensor(y, dtype=torch.float64)

    def loss(wt):
        z = Xt @ wt[:-1] + wt[-1]
        return (torch.nn.functional.binary_cross_entropy_with_logits(z, yt)
                + 0.5 * l2 * torch.sum(wt[:-1] ** 2))

    wt = torch.tensor(w, requires_grad=True)
    value = loss(wt)
    value.backward()
    H = torch.autograd.functional.hessian(loss, torch.tensor(w))
    return value.item(), wt.grad.numpy(), H.numpy()


@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_logistic_regression_matches_torch_bce_with_logits(l2):
    X, y = _logreg_data(n=80, d=4, seed=3)
    s = S.logistic_regression(X, y, l2=l2)
    rng = np.random.default_rng(4)
    for scale in (1.0, 300.0):  # 300: logits in the thousands, exp would overflow
        w = scale * rng.normal(size=5)
        with np.errstate(over="raise", invalid="raise"):
            f, g, H = s.f(w), s.grad(w), s.hessian(w)
        f_t, g_t, H_t = _torch_logreg(X, y, w, l2)
        assert f == pytest.approx(f_t, rel=1e-12)
        np.testing.assert_allclose(g, g_t, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(H, H_t, rtol=1e-10, atol=1e-14)
        z = X @ w[:-1] + w[-1]
        assert s.accuracy(w) == np.mean((z > 0) == (y == 1))


def test_logistic_regression_minimizer_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    X, y = _logreg_data(n=100, d=3, seed=5)
    l2 = 0.05
    s = S.logistic_regression(X, y, l2=l2)
    (w,) = s.minimizers
    assert np.max(np.abs(s.grad(w))) < 1e-10
    assert s.f_min == pytest.approx(s.f(w))
    # sklearn minimises C * sum(loss) + ||coef||^2 / 2 (intercept not penalised)
    clf = LogisticRegression(C=1.0 / (len(y) * l2), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(w, np.append(clf.coef_[0], clf.intercept_[0]), rtol=1e-5)
    assert s.accuracy(w) == pytest.approx(clf.score(X, y))


def test_logistic_regression_newton_stops_at_round_off_on_many_problems():
    # The solver once stopped on an absolute threshold below round-off: on some CPUs the
    # line search then rejected every step and no minimizer was reported (6 of these 200
    # problems here). Its rule is now relative to the round-off of f, so every problem must
    # give a minimizer whose gradient is at round-off level, on any SIMD path.
    worst = 0.0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        n, d = int(rng.integers(20, 400)), int(rng.integers(1, 12))
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0)
        y = (X @ rng.normal(size=d) + 2 * rng.normal(size=n) > 0).astype(int)
        s = S.logistic_regression(X, y, l2=float(rng.choice([1e-3, 0.05, 1.0])))
        assert len(s.minimizers) == 1, f"problem {seed}: no minimizer reported"
        worst = max(worst, float(np.max(np.abs(s.grad(s.minimizers[0])))))
    assert worst < 1e-12


def test_logistic_regression_separable_without_l2_has_no_minimizer():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    s = S.logistic_regression(X, y)
    assert s.minimizers == [] and s.f_min is None
    assert len(S.logistic_regression(X, y, l2=0.1).minimizers) == 1


@pytest.mark.parametrize(
    "X, y, l2, match",
    [
        (np.ones(4), np.array([0, 1, 0, 1]), 0.0, "X must be"),
        (np.ones((4, 2)), np.array([0, 1, 2, 1]), 0.0, "labels 0 and 1"),
        (np.ones((4, 2)), np.array([0, 1, 1]), 0.0, "y must have shape"),
        (np.ones((4, 2)), np.array([0, 1, 0, 1]), -1.0, "l2"),
    ],
)
def test_logistic_regression_bad_arguments(X, y, l2, match):
    with pytest.raises(ValueError, match=match):
        S.logistic_regression(X, y, l2=l2)


def test_registry_bounds_and_starts():
    assert set(S.SURFACES) == {"quadratic", "rosenbrock", "beale", "ackley", "saddle",
                               "two_valleys", "booth"}
    for name, factory in S.SURFACES.items():
        s = factory()
        assert s.name == name and s.dim == 2 and factory.__doc__
        (x0, x1), (y0, y1) = s.bounds
        for p in [s.start] + s.minimizers + s.saddle_points:
            assert x0 < p[0] < x1 and y0 < p[1] < y1, (name, p)


def test_logistic_regression_minimizer_found_when_line_search_stalls():
    # Digits 4 vs 9 with a little l2 is strictly convex; near the optimum round-off used
    # to defeat the backtracking line search and the solver reported no minimizer.
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = (d.target == 4) | (d.target == 9)
    X, y = d.data[keep] / 16.0, (d.target[keep] == 9).astype(float)
    s = S.logistic_regression(X, y, l2=0.01)
    assert len(s.minimizers) == 1
    w = s.minimizers[0]
    assert np.max(np.abs(s.grad(w))) < 1e-9
    assert np.all(np.linalg.eigvalsh(s.hessian(w)) > 0)
