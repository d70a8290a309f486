"""course_lib.layers: backward passes vs central differences, forward passes vs PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import layers
from course_lib.gradcheck import numerical_gradient_array, rel_error

TOL = 1e-7  # float64 central differences with h = 1e-5


def rng(seed=0):
    return np.random.default_rng(seed)


def bn_inputs(n=6, d=4, seed=0):
    r = rng(seed)
    x = 3.0 * r.standard_normal((n, d)) + 2.0
    gamma = 1.0 + 0.5 * r.standard_normal(d)
    beta = r.standard_normal(d)
    dout = r.standard_normal((n, d))
    return x, gamma, beta, dout


# --------------------------------------------------------------------------- affine / relu
def test_affine_backward_matches_numerical_gradient():
    r = rng(1)
    x = r.standard_normal((5, 2, 3))  # flattened to D = 6 inside the layer
    w = r.standard_normal((6, 4))
    b = r.standard_normal(4)
    dout = r.standard_normal((5, 4))
    out, cache = layers.affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(5, 6) @ w + b, rtol=1e-14)
    dx, dw, db = layers.affine_backward(dout, cache)
    assert dx.shape == x.shape
    assert rel_error(dx, numerical_gradient_array(lambda v: layers.affine_forward(v, w, b)[0], x, dout)) < TOL
    assert rel_error(dw, numerical_gradient_array(lambda v: layers.affine_forward(x, v, b)[0], w, dout)) < TOL
    assert rel_error(db, numerical_gradient_array(lambda v: layers.affine_forward(x, w, v)[0], b, dout)) < TOL


def test_relu_forward_backward():
    r = rng(2)
    x = r.standard_normal((4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep the finite differences away from the kink
    dout = r.standard_normal((4, 5))
    out, cache = layers.relu_forward(x)
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0.0))
    dx = layers.relu_backward(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda v: layers.relu_forward(v)[0], x, dout)) < TOL


# --------------------------------------------------------------------------- softmax
def test_softmax_loss_matches_torch_and_numerical_gradient():
    r = rng(3)
    scores = r.standard_normal((7, 5))
    y = r.integers(0, 5, size=7)
    loss, dscores = layers.softmax_loss(scores, y)
    s = torch.tensor(scores, requires_grad=True)
    ref = F.cross_entropy(s, torch.tensor(y))
    ref.backward()
    assert abs(loss - ref.item()) < 1e-14
    np.testing.assert_allclose(dscores, s.grad.numpy(), rtol=1e-12, atol=1e-15)
    num = numerical_gradient_array(lambda v: np.array(layers.softmax_loss(v, y)[0]), scores, np.array(1.0))
    assert rel_error(dscores, num) < TOL


def test_softmax_loss_is_stable_for_huge_scores():
    scores = np.array([[1000.0, 0.0, -1000.0], [5e4, 5e4, 0.0]])
    y = np.array([0, 2])
    loss, dscores = layers.softmax_loss(scores, y)
    ref = F.cross_entropy(torch.tensor(scores), torch.tensor(y)).item()
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    assert abs(loss - ref) < 1e-9
    # the second row's loss is 5e4 + log 2, the first row's 0
    assert abs(loss - (5e4 + np.log(2.0)) / 2) < 1e-9


def test_softmax_loss_float32():
    r = rng(4)
    scores = r.standard_normal((6, 3)).astype(np.float32)
    y = r.integers(0, 3, size=6)
    loss, dscores = layers.softmax_loss(scores, y)
    assert dscores.dtype == np.float32
    ref = F.cross_entropy(torch.tensor(scores), torch.tensor(y)).item()
    assert abs(loss - ref) < 1e-6


# --------------------------------------------------------------------------- batch norm
def test_batchnorm_train_forward_normalises_and_matches_torch():
    x, gamma, beta, _ = bn_inputs()
    out, _ = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    xhat = (out - beta) / gamma
    np.testing.assert_allclose(xhat.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(xhat.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5), rtol=1e-12)
    ref = F.batch_norm(torch.tensor(x), None, None, torch.tensor(gamma), torch.tensor(beta), training=True)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backward", [layers.batchnorm_backward, layers.batchnorm_backward_alt])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_backward_matches_numerical_gradient(backward, mode):
    x, gamma, beta, dout = bn_inputs(seed=5)
    r = rng(6)
    base = {"mode": mode, "running_mean": r.standard_normal(4), "running_var": 1.0 + r.random(4)}

    def fwd(x_, g_, b_):
        return layers.batchnorm_forward(x_, g_, b_, dict(base))[0]

    _, cache = layers.batchnorm_forward(x, gamma, beta, dict(base))
    dx, dgamma, dbeta = backward(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda v: fwd(v, gamma, beta), x, dout)) < TOL
    assert rel_error(dgamma, numerical_gradient_array(lambda v: fwd(x, v, beta), gamma, dout)) < TOL
    assert rel_error(dbeta, numerical_gradient_array(lambda v: fwd(x, gamma, v), beta, dout)) < TOL


def test_batchnorm_compact_and_staged_backward_agree():
    x, gamma, beta, dout = bn_inputs(n=32, d=10, seed=7)
    _, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for a, b in zip(layers.batchnorm_backward(dout, cache), layers.batchnorm_backward_alt(dout, cache)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_batchnorm_backward_matches_torch_autograd():
    x, gamma, beta, dout = bn_inputs(n=16, d=5, seed=8)
    _, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = layers.batchnorm_backward(dout, cache)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    F.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5).backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma, gt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dbeta, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_batchnorm_running_stats_match_torch_over_batches(momentum):
    d = 5
    r = rng(9)
    gamma, beta = 1.0 + r.random(d), r.standard_normal(d)
    bn = torch.nn.BatchNorm1d(d, eps=1e-5, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    bn_param = {"mode": "train", "momentum": momentum}  # running stats start missing
    for step, n in enumerate([8, 3, 16, 2, 9]):  # includes the smallest legal batch, N = 2
        x = r.standard_normal((n, d)) * (1 + step) + step
        out, _ = layers.batchnorm_forward(x, gamma, beta, bn_param)
        bn.train()
        ref = bn(torch.tensor(x))
        np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(bn_param["running_mean"], bn.running_mean.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(bn_param["running_var"], bn.running_var.numpy(), rtol=0, atol=1e-12)
    x = r.standard_normal((7, d)) * 3 + 1
    bn.eval()
    out, _ = layers.batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "eval"})
    np.testing.assert_allclose(out, bn(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)


def test_batchnorm_running_var_uses_unbiased_variance():
    x = np.array([[0.0], [2.0]])  # biased variance 1, unbiased 2
    p = {"mode": "train", "momentum": 1.0}
    out, _ = layers.batchnorm_forward(x, np.ones(1), np.zeros(1), p)
    # mean 1 and variance 2 of (0, 2) are exact in binary floating point
    assert p["running_mean"][0] == 1.0
    assert p["running_var"][0] == 2.0
    np.testing.assert_allclose(out[:, 0], [-1 / np.sqrt(1 + 1e-5), 1 / np.sqrt(1 + 1e-5)], rtol=1e-15)


def test_batchnorm_eval_mode_uses_and_keeps_running_stats():
    x, gamma, beta, _ = bn_inputs(seed=10)
    rm, rv = np.arange(4.0), np.array([1.0, 2.0, 0.5, 4.0])
    p = {"mode": "eval", "running_mean": rm, "running_var": rv, "eps": 1e-3}
    rm0, rv0 = rm.copy(), rv.copy()
    out, _ = layers.batchnorm_forward(x, gamma, beta, p)
    np.testing.assert_allclose(out, gamma * (x - rm0) / np.sqrt(rv0 + 1e-3) + beta, rtol=1e-14)
    assert p["running_mean"] is rm and p["running_var"] is rv
    np.testing.assert_array_equal(rm, rm0)
    np.testing.assert_array_equal(rv, rv0)
    # missing statistics: PyTorch's initial values 0 and 1, and the dict stays as it was
    fresh = {"mode": "eval"}
    out, _ = layers.batchnorm_forward(x, gamma, beta, fresh)
    np.testing.assert_allclose(out, gamma * x / np.sqrt(1 + 1e-5) + beta, rtol=1e-14)
    assert fresh == {"mode": "eval"}


def test_batchnorm_train_replaces_running_arrays_and_keeps_inputs():
    x, gamma, beta, _ = bn_inputs(seed=11)
    rm, rv = np.zeros(4), np.ones(4)
    p = {"mode": "train", "running_mean": rm, "running_var": rv}
    copies = [a.copy() for a in (x, gamma, beta)]
    layers.batchnorm_forward(x, gamma, beta, p)
    assert p["running_mean"] is not rm and p["running_var"] is not rv
    np.testing.assert_array_equal(rm, np.zeros(4))  # old arrays untouched: valid snapshots
    np.testing.assert_array_equal(rv, np.ones(4))
    assert not np.array_equal(p["running_mean"], rm)
    for a, c in zip((x, gamma, beta), copies):
        np.testing.assert_array_equal(a, c)


def test_batchnorm_float32_stays_float32():
    x, gamma, beta, dout = (a.astype(np.float32) for a in bn_inputs(seed=12))
    p = {"mode": "train"}
    out, cache = layers.batchnorm_forward(x, gamma, beta, p)
    assert out.dtype == np.float32
    assert p["running_mean"].dtype == np.float32 and p["running_var"].dtype == np.float32
    assert all(g.dtype == np.float32 for g in layers.batchnorm_backward(dout, cache))
    ref = F.batch_norm(torch.tensor(x), None, None, torch.tensor(gamma), torch.tensor(beta), training=True)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-5, atol=1e-5)


def test_batchnorm_bad_input():
    x, gamma, beta, _ = bn_inputs()
    with pytest.raises(KeyError, match="mode"):
        layers.batchnorm_forward(x, gamma, beta, {})
    with pytest.raises(ValueError, match="mode"):
        layers.batchnorm_forward(x, gamma, beta, {"mode": "test"})
    with pytest.raises(ValueError, match="gamma"):
        layers.batchnorm_forward(x, gamma[:3], beta, {"mode": "train"})
    with pytest.raises(ValueError, match=r"shape \(B, D\)"):
        layers.batchnorm_forward(x[0], gamma, beta, {"mode": "train"})
    with pytest.raises(ValueError, match="B >= 2"):
        layers.batchnorm_forward(x[:1], gamma, beta, {"mode": "train"})
    with pytest.raises(ValueError, match="running_mean"):
        layers.batchnorm_forward(x, gamma, beta, {"mode": "eval", "running_mean": np.zeros(3)})
    with pytest.raises(ValueError, match="momentum"):
        layers.batchnorm_forward(x, gamma, beta, {"mode": "train", "momentum": 1.5})
    with pytest.raises(TypeError, match="dtype"):
        layers.batchnorm_forward(x.astype(np.float32), gamma, beta, {"mode": "train"})


# --------------------------------------------------------------------------- layer norm
def test_layernorm_matches_torch_and_numerical_gradient():
    x, _, _, dout = bn_inputs(n=5, d=6, seed=13)
    r = rng(14)
    gamma, beta = 1.0 + r.random(6), r.standard_normal(6)
    out, cache = layers.layernorm_forward(x, gamma, beta, {"eps": 1e-5})
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    ref = F.layer_norm(xt, (6,), gt, bt, eps=1e-5)
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    ref.backward(torch.tensor(dout))
    dx, dgamma, dbeta = layers.layernorm_backward(dout, cache)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)

    def fwd(x_, g_, b_):
        return layers.layernorm_forward(x_, g_, b_, {})[0]

    assert rel_error(dx, numerical_gradient_array(lambda v: fwd(v, gamma, beta), x, dout)) < TOL
    assert rel_error(dgamma, numerical_gradient_array(lambda v: fwd(x, v, beta), gamma, dout)) < TOL
    assert rel_error(dbeta, numerical_gradient_array(lambda v: fwd(x, gamma, v), beta, dout)) < TOL


def test_layernorm_float32_and_bad_shapes():
    x = rng(15).standard_normal((3, 4)).astype(np.float32)
    g, b = np.ones(4, np.float32), np.zeros(4, np.float32)
    out, cache = layers.layernorm_forward(x, g, b)
    assert out.dtype == np.float32
    assert all(a.dtype == np.float32 for a in layers.layernorm_backward(np.ones_like(x), cache))
    with pytest.raises(ValueError, match="beta"):
        layers.layernorm_forward(x, g, b[:2])
    with pytest.raises(ValueError, match="dout"):
        layers.layernorm_backward(np.ones((3, 5), np.float32), cache)


# --------------------------------------------------------------------------- dropout
def test_dropout_train_eval_and_gradient():
    x = rng(16).standard_normal((50, 40))
    p = {"p": 0.3, "mode": "train", "seed": 123}
    out, cache = layers.dropout_forward(x, p)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.7, rtol=1e-15)
    assert abs(kept.mean() - 0.7) < 0.03  # 2000 Bernoulli(0.7) draws: std 0.01
    out2, _ = layers.dropout_forward(x, p)
    np.testing.assert_array_equal(out, out2)  # same seed, same mask
    dout = rng(17).standard_normal(x.shape)
    num = numerical_gradient_array(lambda v: layers.dropout_forward(v, p)[0], x, dout)
    assert rel_error(layers.dropout_backward(dout, cache), num) < TOL
    out_eval, cache_eval = layers.dropout_forward(x, {"p": 0.3, "mode": "eval"})
    np.testing.assert_array_equal(out_eval, x)
    np.testing.assert_array_equal(layers.dropout_backward(dout, cache_eval), dout)
    with pytest.raises(ValueError, match="p"):
        layers.dropout_forward(x, {"p": 1.0, "mode": "train"})


# --------------------------------------------------------------------------- generic
def test_inputs_are_not_mutated():
    r = rng(18)
    x, w, b = r.standard_normal((4, 3)), r.standard_normal((3, 2)), r.standard_normal(2)
    dout = r.standard_normal((4, 2))
    y = np.array([0, 1, 1, 0])
    saved = [a.copy() for a in (x, w, b, dout, y)]
    out, cache = layers.affine_forward(x, w, b)
    layers.affine_backward(dout, cache)
    _, rc = layers.relu_forward(out)
    layers.relu_backward(dout, rc)
    layers.softmax_loss(out, y)
    _, lc = layers.layernorm_forward(out, b, b)
    layers.layernorm_backward(dout, lc)
    for a, c in zip((x, w, b, dout, y), saved):
        np.testing.assert_array_equal(a, c)


def test_bad_shapes_and_labels_give_clear_errors():
    r = rng(19)
    x, w, b = r.standard_normal((4, 3)), r.standard_normal((3, 2)), r.standard_normal(2)
    with pytest.raises(ValueError, match=r"w.shape\[0\] == D"):
        layers.affine_forward(x, r.standard_normal((5, 2)), b)
    with pytest.raises(ValueError, match="b must have shape"):
        layers.affine_forward(x, w, np.zeros(3))
    with pytest.raises(TypeError, match="floating-point"):
        layers.affine_forward(x.astype(int), w, b)
    _, cache = layers.affine_forward(x, w, b)
    with pytest.raises(ValueError, match="dout"):
        layers.affine_backward(np.ones((4, 3)), cache)
    scores = r.standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"labels y must lie in \[0, 2\]"):
        layers.softmax_loss(scores, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="y must have shape"):
        layers.softmax_loss(scores, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer"):
        layers.softmax_loss(scores, np.array([0.0, 1.0, 2.0, 1.0]))
