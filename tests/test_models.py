"""course_lib.models.MLP: full-model gradients vs central differences and torch autograd."""

import numpy as np
import pytest
import torch

from course_lib.gradcheck import numerical_gradient_array, rel_error
from course_lib.models import MLP


def small_problem(seed=0, n=6, d=5, c=3):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, d)), r.integers(0, c, size=n)


def loss_as_function_of(model, name, X, y, mode):
    """L(params[name] = v) with the running statistics restored after each call, so that
    the finite differences see exactly the function whose gradient model.loss returns."""
    bn_saved = [dict(p) for p in model.bn_params]

    def f(v):
        old = model.params[name]
        model.params[name] = v
        try:
            return np.array(model.loss(X, y, mode=mode)[0])
        finally:
            model.params[name] = old
            for p, s in zip(model.bn_params, bn_saved):
                p.update(s)

    return f


@pytest.mark.parametrize("batchnorm,mode", [(False, "train"), (True, "train"), (True, "eval")])
def test_mlp_gradients_match_numerical_gradient(batchnorm, mode):
    X, y = small_problem()
    model = MLP([5, 7, 6, 3], batchnorm=batchnorm, seed=1)
    if batchnorm:
        # non-trivial scale/shift and running statistics, so every term is exercised
        r = np.random.default_rng(2)
        for l in (1, 2):
            model.params[f"gamma{l}"] = 1 + 0.3 * r.standard_normal(model.sizes[l])
            model.params[f"beta{l}"] = 0.3 * r.standard_normal(model.sizes[l])
            model.bn_params[l - 1]["running_mean"] = 0.2 * r.standard_normal(model.sizes[l])
            model.bn_params[l - 1]["running_var"] = 1 + r.random(model.sizes[l])
    for name in model.params:  # non-zero biases as well
        if name.startswith("b") and not name.startswith("beta"):
            model.params[name] = 0.1 * np.random.default_rng(3).standard_normal(model.params[name].shape)
    bn_before = [dict(p) for p in model.bn_params]
    _, grads = model.loss(X, y, mode=mode)
    for p, s in zip(model.bn_params, bn_before):
        p.update(s)
    assert set(grads) == set(model.params)
    for name, w in model.params.items():
        num = numerical_gradient_array(loss_as_function_of(model, name, X, y, mode), w, np.array(1.0))
        assert grads[name].shape == w.shape
        if batchnorm and mode == "train" and name in ("b1", "b2"):
            # batch norm subtracts the batch mean, so a bias before it has no effect on L:
            # the exact gradient is 0 and a relative error is meaningless
            assert np.abs(grads[name]).max() < 1e-14 and np.abs(num).max() < 1e-9
        else:
            assert rel_error(grads[name], num) < 1e-7, name


def torch_twin(model):
    """torch.nn.Sequential with the same weights as ``model`` (float64)."""
    mods = []
    for l in range(1, model.num_layers + 1):
        W, b = model.params[f"W{l}"], model.params[f"b{l}"]
        lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W.T))
            lin.bias.copy_(torch.tensor(b))
        mods.append(lin)
        if l < model.num_layers:
            if model.batchnorm:
                bn = torch.nn.BatchNorm1d(W.shape[1], eps=1e-5, momentum=0.1, dtype=torch.float64)
                with torch.no_grad():
                    bn.weight.copy_(torch.tensor(model.params[f"gamma{l}"]))
                    bn.bias.copy_(torch.tensor(model.params[f"beta{l}"]))
                mods.append(bn)
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_mlp_matches_torch_autograd(batchnorm):
    r = np.random.default_rng(4)
    X, y = r.standard_normal((32, 10)), r.integers(0, 4, size=32)
    model = MLP([10, 16, 8, 4], batchnorm=batchnorm, seed=5)
    net = torch_twin(model)
    for _ in range(3):  # three train steps: running statistics must follow torch's as well
        loss, grads = model.loss(X, y, mode="train")
        net.train()
        net.zero_grad()
        ref = torch.nn.functional.cross_entropy(net(torch.tensor(X)), torch.tensor(y))
        ref.backward()
        assert abs(loss - ref.item()) < 1e-12
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        bns = [m for m in net if isinstance(m, torch.nn.BatchNorm1d)]
        for l, lin in enumerate(linears, start=1):
            np.testing.assert_allclose(grads[f"W{l}"], lin.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(grads[f"b{l}"], lin.bias.grad.numpy(), rtol=1e-9, atol=1e-12)
        for l, bn in enumerate(bns, start=1):
            np.testing.assert_allclose(grads[f"gamma{l}"], bn.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(grads[f"beta{l}"], bn.bias.grad.numpy(), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(model.bn_params[l - 1]["running_mean"], bn.running_mean.numpy(), atol=1e-12)
            np.testing.assert_allclose(model.bn_params[l - 1]["running_var"], bn.running_var.numpy(), atol=1e-12)
    net.eval()
    with torch.no_grad():
        ref_scores = net(torch.tensor(X)).numpy()
    np.testing.assert_allclose(model.loss(X), ref_scores, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), ref_scores.argmax(axis=1))
    assert model.accuracy(X, y) == np.mean(ref_scores.argmax(axis=1) == y)


def test_he_initialisation_and_seed():
    a, b, c = MLP([400, 300, 10], seed=7), MLP([400, 300, 10], seed=7), MLP([400, 300, 10], seed=8)
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    # 120000 draws of N(0, 2/400): sample std within 1% of sqrt(2/400)
    assert abs(a.params["W1"].std() / np.sqrt(2 / 400) - 1) < 0.01
    assert abs(a.params["W2"].std() / np.sqrt(2 / 300) - 1) < 0.03
    np.testing.assert_array_equal(a.params["b1"], np.zeros(300))
    s = MLP([400, 300, 10], weight_scale=0.01)
    assert abs(s.params["W1"].std() / 0.01 - 1) < 0.01
    bn = MLP([4, 3, 2], batchnorm=True)
    assert sorted(bn.params) == ["W1", "W2", "b1", "b2", "beta1", "gamma1"]
    assert len(bn.bn_params) == 1


def test_float32_model():
    model = MLP([5, 4, 3], batchnorm=True, dtype=np.float32)
    X, y = small_problem()
    loss, grads = model.loss(X.astype(np.float32), y)
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.bn_params[0]["running_var"].dtype == np.float32
    with pytest.raises(TypeError, match="dtype"):
        model.loss(X, y)  # float64 data into a float32 model


def test_eval_mode_and_scores_do_not_change_running_stats():
    X, y = small_problem()
    model = MLP([5, 4, 3], batchnorm=True)
    model.loss(X, y)  # train step moves the statistics away from 0 / 1
    before = model.state_dict()
    model.loss(X)
    model.loss(X, y, mode="eval")
    model.predict(X)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_state_dict_is_a_deep_copy_and_round_trips():
    X, y = small_problem()
    model = MLP([5, 4, 3], batchnorm=True, seed=3)
    model.loss(X, y)
    sd = model.state_dict()
    assert set(sd) == set(model.params) | {"bn1.running_mean", "bn1.running_var"}
    frozen = {k: v.copy() for k, v in sd.items()}
    model.params["W1"] += 1.0  # in-place change of the model
    model.params["gamma1"][0] = 5.0
    model.loss(X, y)  # replaces the running statistics
    model.bn_params[0]["running_mean"][:] = 9.0  # and an in-place change of them
    assert all(np.array_equal(sd[k], frozen[k]) for k in sd)
    model.load_state_dict(sd)
    sd["W1"][:] = 0.0  # the loaded model must not share memory with sd
    restored = model.state_dict()
    assert all(np.array_equal(restored[k], frozen[k]) for k in frozen)


def test_load_state_dict_rejects_mismatch():
    model = MLP([5, 4, 3], batchnorm=True)
    sd = model.state_dict()
    with pytest.raises(KeyError, match="bn1.running_var"):
        model.load_state_dict({k: v for k, v in sd.items() if k != "bn1.running_var"})
    with pytest.raises(ValueError, match="W2"):
        model.load_state_dict({**sd, "W2": np.zeros((4, 4))})


def test_bad_arguments():
    with pytest.raises(ValueError, match="sizes"):
        MLP([5])
    with pytest.raises(ValueError, match="sizes"):
        MLP([5, 0, 3])
    with pytest.raises(TypeError, match="dtype"):
        MLP([5, 3], dtype=np.int64)
    model = MLP([5, 3])
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        model.loss(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="mode"):
        model.loss(np.zeros((2, 5)), mode="test")
