"""Assignment 1 references against independent truths (analytic gradients, closed forms,
course_lib.gradcheck); the catalogue itself is tested generically in test_grading_core.py."""
import numpy as np
import pytest

from course_lib import gradcheck
from course_lib.grading import a1_gradient_descent as a1


def test_numerical_gradient_matches_the_analytic_gradient():
    f = lambda x: 5 * x[0] ** 2 + 2 * x[0] * x[1] + 3 * x[1] ** 2
    x = np.array([1.0, 1.0])
    assert np.allclose(a1.numerical_gradient(f, x), [12.0, 8.0], rtol=1e-9)
    B = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 4.0]])
    X = np.random.default_rng(0).standard_normal((3,))
    g = a1.numerical_gradient(lambda z: np.sum(np.sin(3 * z)) + 0.5 * z @ B @ z, X)
    assert gradcheck.rel_error(g, 3 * np.cos(3 * X) + B @ X) < 1e-8


def test_central_error_is_second_order_and_forward_first_order():
    f, x, exact = (lambda z: np.exp(z[0])), np.array([0.5]), np.exp(0.5)
    central = [abs(a1.numerical_gradient(f, x, h)[0] - exact) for h in (1e-2, 1e-3)]
    forward = [abs(a1.numgrad_forward(f, x, h)[0] - exact) for h in (1e-2, 1e-3)]
    assert 80 < central[0] / central[1] < 120   # h^2: 100x smaller for 10x smaller h
    assert 8 < forward[0] / forward[1] < 12      # h: 10x


def test_numerical_gradient_keeps_dtype_and_input():
    x = np.array([0.5, -1.0], dtype=np.float32)
    g = a1.numerical_gradient(lambda z: float(np.sum(z ** 2)), x, h=1e-2)
    assert g.dtype == np.float32 and np.allclose(g, 2 * x, rtol=1e-3)
    assert np.array_equal(x, np.array([0.5, -1.0], dtype=np.float32))


def test_numerical_gradient_array_matches_backprop_through_tanh():
    rng = np.random.default_rng(1)
    x, W, df = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    analytic = (df * (1 - np.tanh(x @ W) ** 2)) @ W.T
    assert gradcheck.rel_error(a1.numerical_gradient_array(lambda z: np.tanh(z @ W), x, df), analytic) < 1e-7


def test_rel_error_matches_gradcheck_and_definition():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    assert a1.rel_error(a, b) == pytest.approx(gradcheck.rel_error(a, b), rel=1e-12)
    assert a1.rel_error([1.0, 3.0], [1.0, 1.0]) == pytest.approx(0.5)
    assert a1.rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_gradient_descent_iteration_count_has_a_closed_form():
    # f(w) = a/2 w^2: w_k = (1 - lr a)^k w0, and |f'(w_k)| = a |w_k| <= tol first at
    # k = ceil(log(tol / (a |w0|)) / log|1 - lr a|).
    a, w0, lr, tol = 4.0, 3.0, 0.1, 1e-6
    traj, k = a1.gradient_descent(lambda w: a * w, np.array([w0]), lr, tol=tol)
    expected = int(np.ceil(np.log(tol / (a * w0)) / np.log(abs(1 - lr * a))))
    assert k == expected and traj.shape == (k + 1, 1)
    assert np.allclose(traj[:, 0], w0 * (1 - lr * a) ** np.arange(k + 1), rtol=1e-12)


def test_gradient_descent_converges_to_the_solution_and_respects_max_iters():
    A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    traj, k = a1.gradient_descent(lambda w: A @ w - b, np.zeros(2), 0.3, tol=1e-10, max_iters=10_000)
    assert np.allclose(traj[-1], np.linalg.solve(A, b), atol=1e-9) and k < 10_000
    traj, k = a1.gradient_descent(lambda w: A @ w - b, np.zeros(2), 0.3, tol=0.0, max_iters=7)
    assert k == 7 and traj.shape == (8, 2)


def test_lr_sweep_matches_the_closed_form_and_diverges_past_two_over_l():
    lam, w0, T = np.array([1.0, 10.0]), np.array([1.0, -2.0]), 40
    lrs = [0.05, 0.19, 0.21]
    expected = [0.5 * np.sum(lam * (1 - lr * lam) ** (2 * T) * w0 ** 2) for lr in lrs]
    out = a1.lr_sweep(np.diag(lam), w0, lrs, T)
    assert np.allclose(out, expected, rtol=1e-10)
    assert out[2] > 0.5 * w0 @ np.diag(lam) @ w0 > out[1]   # only lr = 0.21 > 2/L = 0.2 diverges


def test_max_stable_lr_is_two_over_the_largest_eigenvalue():
    c, s = np.cos(0.7), np.sin(0.7)
    R = np.array([[c, -s], [s, c]])
    assert a1.max_stable_lr(R @ np.diag([2.0, 8.0]) @ R.T) == pytest.approx(0.25, rel=1e-12)
