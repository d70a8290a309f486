"""course_lib.gradcheck on functions whose gradients are known in closed form."""

import numpy as np
import pytest

from course_lib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error


def quad(w):
    x, y = w
    return 5 * x**2 + 2 * x * y + 3 * y**2


def smooth(w):
    return np.sum(np.exp(np.sin(w)))


def smooth_grad(w):
    return np.cos(w) * np.exp(np.sin(w))


def test_worked_example_quadratic_at_one_one():
    # df/dx = 10x + 2y = 12, df/dy = 2x + 6y = 8
    g = numerical_gradient(quad, np.array([1.0, 1.0]))
    np.testing.assert_allclose(g, [12.0, 8.0], rtol=1e-9)
    g_fwd = numerical_gradient(quad, np.array([1.0, 1.0]), method="forward")
    # forward error is h * f_ii / 2 = 5e-5 (x) and 3e-5 (y): visible, but small
    np.testing.assert_allclose(g_fwd, [12.0 + 5e-5, 8.0 + 3e-5], rtol=1e-8)
    assert not np.allclose(g_fwd, [12.0, 8.0], rtol=1e-6, atol=0)


def test_any_shape():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 2))
    g = numerical_gradient(lambda z: np.sum(z**3), x)
    assert g.shape == x.shape
    assert rel_error(g, 3 * x**2) < 1e-7


def _fitted_slope(method, hs):
    w = np.array([0.3, -0.7])
    errs = [np.max(np.abs(numerical_gradient(smooth, w, h=h, method=method) - smooth_grad(w)))
            for h in hs]
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


def test_forward_error_is_first_order_and_central_second_order():
    # Ranges chosen where truncation error dominates round-off (eps / h <= 1e-12).
    assert _fitted_slope("forward", np.logspace(-5, -1, 9)) == pytest.approx(1.0, abs=0.1)
    assert _fitted_slope("central", np.logspace(-3, -1, 9)) == pytest.approx(2.0, abs=0.1)


def test_input_not_mutated_and_f_never_sees_the_callers_array():
    x = np.array([[0.5, -1.5], [2.0, 0.25]])
    before = x.copy()
    seen = []

    def f(z):
        seen.append(z is x)
        return np.sum(np.exp(np.sin(z)))

    for method in ("central", "forward"):
        numerical_gradient(f, x, method=method)
    numerical_gradient_array(np.sin, x, np.ones_like(x))
    np.testing.assert_array_equal(x, before)
    assert not any(seen)


def test_float32_input_computes_in_float64_and_returns_float32():
    x32 = np.array([0.3, -0.7], dtype=np.float32)
    dtypes = set()

    def f(z):
        dtypes.add(z.dtype)
        return smooth(z)

    g = numerical_gradient(f, x32)
    assert dtypes == {np.dtype(np.float64)}
    assert g.dtype == np.float32
    # Accurate to float32 resolution because the differences were taken in float64.
    assert rel_error(g, smooth_grad(x32.astype(np.float64))) < 1e-6
    ga = numerical_gradient_array(np.sin, x32, np.ones(2))
    assert ga.dtype == np.float32


def test_integer_input_gives_float64():
    g = numerical_gradient(quad, np.array([1, 1]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [12.0, 8.0], rtol=1e-9)


def test_numerical_gradient_array_vector_jacobian_product():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3))
    W = rng.normal(size=(3, 5))
    df = rng.normal(size=(4, 5))
    # d/dx sum((x W) * df) = df W^T
    g = numerical_gradient_array(lambda z: z @ W, x, df)
    assert rel_error(g, df @ W.T) < 1e-8
    # elementwise: d/dx sum(tanh(x) * df) = (1 - tanh(x)^2) * df
    df2 = rng.normal(size=x.shape)
    g2 = numerical_gradient_array(np.tanh, x, df2)
    assert rel_error(g2, (1 - np.tanh(x) ** 2) * df2) < 1e-7


def test_rel_error_values():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0, 3.0], [1.1, 3.0]) == pytest.approx(0.1 / 2.1)
    assert rel_error([0.0, 1.0], [0.0, -1.0]) == 1.0  # opposite signs: maximal error
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0  # floor avoids 0/0
    assert rel_error(np.zeros((0,)), np.zeros((0,))) == 0.0
    assert rel_error([1e-13], [0.0]) == pytest.approx(0.1)  # floor 1e-12 in the denominator


def test_bad_arguments():
    x = np.array([1.0, 1.0])
    with pytest.raises(ValueError, match="method"):
        numerical_gradient(quad, x, method="backward")
    for h in (0.0, -1e-5, float("nan")):
        with pytest.raises(ValueError, match="h must be"):
            numerical_gradient(quad, x, h=h)
    with pytest.raises(ValueError, match="f must return a scalar"):
        numerical_gradient(lambda z: z * 2, x)
    with pytest.raises(ValueError, match="df must have the shape"):
        numerical_gradient_array(np.sin, x, np.ones(3))
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.ones(3), np.ones((3, 1)))
    with pytest.raises(TypeError, match="x must be"):
        numerical_gradient(lambda z: 0.0, np.array(["a", "b"]))
