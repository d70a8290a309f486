"""Unit tests of course_lib.grading.a5_batchnorm: the references against torch and numerical
gradients (the catalogue of mistakes is tested for every module in test_grading_core.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.grading import a5_batchnorm as grader
from course_lib.grading import core


# ----------------------------------------------------------- references vs torch / numerics


@pytest.fixture
def batch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(9, 4)) * [1.0, 3.0, 0.2, 5.0] + [2.0, -1.0, 0.0, 7.0]
    return x, rng.uniform(0.5, 2, size=4), rng.normal(size=4), rng.normal(size=(9, 4))


def test_batchnorm_train_and_eval_match_torch(batch):
    x, gamma, beta, _ = batch
    rm, rv = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    param = {"mode": "train", "momentum": 0.3, "eps": 1e-3}
    old_mean = None
    for step in range(3):
        xs = x + step  # a different batch each step
        out, _ = grader.batchnorm_forward(xs, gamma, beta, param)
        ref = F.batch_norm(torch.tensor(xs), rm, rv, torch.tensor(gamma), torch.tensor(beta),
                           training=True, momentum=0.3, eps=1e-3)
        np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(param["running_mean"], rm.numpy(), rtol=1e-12)
        np.testing.assert_allclose(param["running_var"], rv.numpy(), rtol=1e-12)
        assert old_mean is None or not np.shares_memory(old_mean, param["running_mean"])
        old_mean = param["running_mean"]
    param["mode"] = "eval"
    before = param["running_mean"].copy()
    out, _ = grader.batchnorm_forward(x, gamma, beta, param)
    ref = F.batch_norm(torch.tensor(x), rm, rv, torch.tensor(gamma), torch.tensor(beta),
                       training=False, eps=1e-3)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(param["running_mean"], before)


def _numerical_gradient(f, x, dout, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = np.sum((f(xp) - f(xm)) * dout) / (2 * h)
    return grad


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_backward_matches_numerical_gradients_and_autograd(batch, kind):
    x, gamma, beta, dout = batch
    forward = grader.batchnorm_forward if kind == "batch" else grader.layernorm_forward
    backward = grader.batchnorm_backward if kind == "batch" else grader.layernorm_backward

    def f(x_, g_=gamma, b_=beta):
        return forward(x_, g_, b_, {"mode": "train"})[0]

    _, cache = forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = backward(dout, cache)
    np.testing.assert_allclose(dx, _numerical_gradient(f, x, dout), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, _numerical_gradient(lambda g: f(x, g), gamma, dout), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, _numerical_gradient(lambda b: f(x, gamma, b), beta, dout), rtol=1e-6, atol=1e-8)

    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    if kind == "batch":
        out = F.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5)
    else:
        out = F.layer_norm(xt, (4,), gt, bt, eps=1e-5)
    out.backward(torch.tensor(dout))
    for ours, theirs in ((dx, xt), (dgamma, gt), (dbeta, bt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32():
    x = np.arange(12, dtype=np.float32).reshape(4, 3) ** 1.5
    g, b = np.ones(3, np.float32), np.zeros(3, np.float32)
    param = {"mode": "train"}
    out, cache = grader.batchnorm_forward(x, g, b, param)
    assert out.dtype == np.float32 and param["running_var"].dtype == np.float32
    assert all(a.dtype == np.float32 for a in grader.batchnorm_backward(out, cache))
    out, cache = grader.layernorm_forward(x, g, b, {})
    assert out.dtype == np.float32
    assert all(a.dtype == np.float32 for a in grader.layernorm_backward(out, cache))


def test_bad_input_raises():
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match="mode"):
        grader.batchnorm_forward(x, np.ones(2), np.zeros(2), {"mode": "test"})
    with pytest.raises(ValueError, match="B >= 2"):
        grader.batchnorm_forward(x[:1], np.ones(2), np.zeros(2), {"mode": "train"})


def test_eval_check_reports_updated_statistics():
    ok, message = core.run_check(grader, "bn_eval_forward", grader.bn_eval_updates_running)
    assert not ok and "running_mean" in message and "eval mode too" in message


def test_contract_slips_cost_only_the_contract_check():
    """np.asarray(x, dtype=float) (correct values in float64) and running statistics
    updated in place each lose the contract point, not every forward part (issue: 8/15 and
    15/15 before)."""
    def forward_float64(x, gamma, beta, bn_param):
        as64 = {k: (np.asarray(v, dtype=float) if isinstance(v, np.ndarray) else v) for k, v in bn_param.items()}
        out = grader.batchnorm_forward(np.asarray(x, dtype=float), np.asarray(gamma, dtype=float),
                                       np.asarray(beta, dtype=float), as64)
        bn_param.update(as64)
        return out

    failed = core.failing_checks(grader, "batchnorm_forward", forward_float64)
    assert set(failed) == {"bn_contract"} and "expected dtype float32" in failed["bn_contract"]
    in_place = next(v for v in grader.VARIANTS["batchnorm_forward"] if v.id == "bn_running_in_place")
    failed = core.failing_checks(grader, "batchnorm_forward", in_place.fn)
    assert set(failed) == {"bn_contract"} and "inputs changed in place" in failed["bn_contract"]


def test_a_float64_backward_or_layer_norm_costs_only_their_contract_check():
    def backward_float64(dout, cache):
        return grader.batchnorm_backward(np.asarray(dout, dtype=float),
                                         {k: np.asarray(v, dtype=float) for k, v in cache.items()})

    def layernorm_float64(x, gamma, beta, ln_param):
        return grader.layernorm_forward(np.asarray(x, dtype=float), np.asarray(gamma, dtype=float),
                                        np.asarray(beta, dtype=float), ln_param)

    assert set(core.failing_checks(grader, "batchnorm_backward", backward_float64)) == {"bn_backward_contract"}
    assert set(core.failing_checks(grader, "layernorm_forward", layernorm_float64)) == {"ln_contract"}
