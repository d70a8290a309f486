"""course_lib.gpu: device data, batches, the torch MLP, optimizer twins and the training loop.

References are independent: the NumPy MLP of course_lib.models (forward and backward),
course_lib.train.fit with the NumPy update rules, and hand-written torch loops.
Every test runs on the CPU and, where there is one, on CUDA as well (nothing is skipped).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import torch_default_dtype

from course_lib import gpu, optim, torch_optim
from course_lib.data import Split
from course_lib.models import MLP
from course_lib.train import History, fit

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def toy_split(n=40, d=5, c=3, dtype=np.float64, seed=0):
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, d)).astype(dtype)
    y = (np.arange(n) % c).astype(np.int64)
    X[np.arange(n), y] += 2.0  # learnable: the class shifts one feature
    Xv = r.standard_normal((15, d)).astype(dtype)
    yv = (np.arange(15) % c).astype(np.int64)
    Xv[np.arange(15), yv] += 2.0
    return Split(X, y, Xv, yv, Xv.copy(), yv.copy())


# --------------------------------------------------------------------------- devices
def test_select_device():
    auto = gpu.select_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert gpu.select_device(None) == auto
    assert gpu.select_device("cpu") == torch.device("cpu")
    assert gpu.select_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        gpu.select_device("gpu")
    with pytest.raises(TypeError, match="device"):
        gpu.select_device(3)
    if torch.cuda.is_available():
        assert gpu.select_device("cuda").type == "cuda"
    else:
        with pytest.raises(RuntimeError, match="cuda"):
            gpu.select_device("cuda")


@pytest.mark.parametrize("device", DEVICES)
def test_to_device_copies_once_and_keeps_dtypes(device):
    split = toy_split(dtype=np.float32)
    before = split.X_train.copy()
    on = gpu.to_device(split, device)
    assert isinstance(on, Split)
    assert on.X_train.device.type == device and on.X_train.dtype == torch.float32
    assert on.y_val.dtype == torch.int64
    np.testing.assert_array_equal(on.X_train.cpu().numpy(), split.X_train)
    on.X_train.add_(1.0)  # the tensors never alias the caller's arrays
    np.testing.assert_array_equal(split.X_train, before)
    with pytest.raises(TypeError, match="split"):
        gpu.to_device((split.X_train, split.y_train), device)


# --------------------------------------------------------------------------- batches
@pytest.mark.parametrize("device", DEVICES)
def test_device_loader_epochs_are_permutations(device):
    n, b = 23, 5
    X = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(n) % 4
    X_before = X.copy()
    loader = gpu.DeviceLoader(X, y, b, device=device, seed=3)
    assert len(loader) == 5
    epochs = []
    for _ in range(3):
        batches = list(loader)
        assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]
        for xb, yb in batches:
            assert xb.device.type == device and yb.device.type == device
            ids = xb[:, 0].long()
            assert torch.equal(yb, ids % 4)  # rows of X and y stay paired
        ids = torch.cat([xb[:, 0] for xb, _ in batches]).long().cpu()
        assert sorted(ids.tolist()) == list(range(n))  # every example exactly once
        epochs.append(ids)
    assert not torch.equal(epochs[0], epochs[1])  # reshuffled every epoch
    again = gpu.DeviceLoader(X, y, b, device=device, seed=3)
    assert torch.equal(torch.cat([xb[:, 0] for xb, _ in again]).long().cpu(), epochs[0])
    np.testing.assert_array_equal(X, X_before)
    ordered = gpu.DeviceLoader(X, y, b, device=device, shuffle=False, drop_last=True)
    assert len(ordered) == 4
    assert torch.cat([xb[:, 0] for xb, _ in ordered]).long().cpu().tolist() == list(range(20))


def test_device_loader_rejects_bad_input():
    X, y = np.zeros((6, 2)), np.zeros(6, dtype=np.int64)
    with pytest.raises(ValueError, match="batch_size"):
        gpu.DeviceLoader(X, y, 0, device="cpu")
    with pytest.raises(ValueError, match="y must have shape"):
        gpu.DeviceLoader(X, y[:5], 2, device="cpu")
    with pytest.raises(TypeError, match="integer class labels"):
        gpu.DeviceLoader(X, y.astype(float), 2, device="cpu")
    with pytest.raises(TypeError, match="shuffle"):
        gpu.DeviceLoader(X, y, 2, device="cpu", shuffle=1)


# --------------------------------------------------------------------------- the model
@pytest.mark.parametrize("device", DEVICES)
def test_mlp_matches_numpy_mlp_forward_and_backward(device):
    sizes = [7, 11, 6, 4]
    ref = MLP(sizes, seed=5)
    net = gpu.mlp(sizes, seed=5, device=device, dtype=torch.float64)
    r = np.random.default_rng(1)
    X, y = r.standard_normal((9, 7)), r.integers(0, 4, size=9)
    scores = net(torch.tensor(X, device=device)).detach().cpu().numpy()
    np.testing.assert_allclose(scores, ref.loss(X), rtol=1e-12, atol=1e-12)
    loss = F.cross_entropy(net(torch.tensor(X, device=device)), torch.tensor(y, device=device))
    loss.backward()
    ref_loss, grads = ref.loss(X, y)
    assert abs(loss.item() - ref_loss) < 1e-12
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for l, lin in enumerate(linears, start=1):
        np.testing.assert_allclose(lin.weight.grad.cpu().numpy().T, grads[f"W{l}"], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(lin.bias.grad.cpu().numpy(), grads[f"b{l}"], rtol=1e-10, atol=1e-13)
    again = gpu.mlp(sizes, seed=5, device=device, dtype=torch.float64)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters()))
    other = gpu.mlp(sizes, seed=6, device=device, dtype=torch.float64)
    assert not torch.equal(next(net.parameters()), next(other.parameters()))


# --------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("name", list(torch_optim.CLASSES))
def test_make_optimizer_twins_take_identical_steps(name):
    with torch_default_dtype(torch.float64):  # torch's NAdam keeps its momentum product in it
        gen = torch.Generator().manual_seed(0)
        w0 = torch.randn(4, 3, generator=gen, dtype=torch.float64)
        ours, theirs = w0.clone().requires_grad_(), w0.clone().requires_grad_()
        a = gpu.make_optimizer(name, [ours], lr=0.01)
        b = gpu.make_optimizer(name, [theirs], "torch", foreach=False, lr=0.01)
        assert isinstance(a, torch_optim.CLASSES[name])
        assert type(b) is gpu.TORCH_TWINS[name][0]
        for _ in range(25):
            g = torch.randn(4, 3, generator=gen, dtype=torch.float64) + 0.3 * ours.detach()
            ours.grad, theirs.grad = g.clone(), g.clone()
            a.step()
            b.step()
        assert torch.equal(ours, theirs)
        assert not torch.equal(ours, w0)


def test_make_optimizer_rejects_what_torch_cannot_do():
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(KeyError, match="accepted names"):
        gpu.make_optimizer("adamm", p)
    with pytest.raises(ValueError, match="implementation"):
        gpu.make_optimizer("adam", p, "jax")
    with pytest.raises(ValueError, match="eps_inside"):
        gpu.make_optimizer("adam", p, "torch", eps_inside=True)
    with pytest.raises(ValueError, match="foreach"):
        gpu.make_optimizer("adam", p, foreach=True)
    # the torch-equivalent value of a course-only switch is accepted and dropped
    assert isinstance(gpu.make_optimizer("adam", p, "torch", bias_correction=True), torch.optim.Adam)
    opt = gpu.make_optimizer("momentum", p, "torch")
    assert opt.defaults["momentum"] == 0.9 and opt.defaults["nesterov"] is False


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,hp", [("sgd", {"lr": 0.3}), ("adam", {"lr": 0.02})])
def test_full_batch_training_matches_numpy_fit(device, name, hp):
    """With one batch per epoch the order of the examples is irrelevant, so the torch loop
    must reproduce course_lib.train.fit with the NumPy rule (float64)."""
    split = toy_split()
    sizes = [5, 8, 3]
    model, hist = gpu.train_torch(lambda: gpu.mlp(sizes, seed=2, dtype=torch.float64), name,
                                  split, epochs=6, batch_size=len(split.y_train),
                                  device=device, **hp)
    ref = MLP(sizes, seed=2)
    ref_hist = fit(ref, optim.get(name, **hp), split.X_train, split.y_train, split.X_val,
                   split.y_val, epochs=6, batch_size=len(split.y_train), progress=False)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for l, lin in enumerate(linears, start=1):
        np.testing.assert_allclose(lin.weight.detach().cpu().numpy().T, ref.params[f"W{l}"],
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(lin.bias.detach().cpu().numpy(), ref.params[f"b{l}"],
                                   rtol=1e-9, atol=1e-12)
    assert isinstance(hist, History)  # one history type for both loops
    for field in ("batch_loss", "train_loss", "val_loss"):
        np.testing.assert_allclose(getattr(hist, field), getattr(ref_hist, field), rtol=1e-10)
    assert hist.val_acc == ref_hist.val_acc and hist.train_acc == ref_hist.train_acc
    assert hist.steps == ref_hist.steps == [1, 2, 3, 4, 5, 6]
    assert hist.lr == ref_hist.lr == [hp["lr"]] * 6
    assert len(hist.epoch_time) == 6 and np.all(np.diff(hist.elapsed) > 0)
    assert hist.batch_loss[-1] < 0.8 * hist.batch_loss[0]  # it did learn something


@pytest.mark.parametrize("device", DEVICES)
def test_minibatch_training_equals_a_hand_written_loop(device):
    """train_torch with course_lib's NAdam == the obvious loop with torch.optim.NAdam."""
    split = toy_split(dtype=np.float32)
    sizes, b, epochs = [5, 8, 3], 7, 3
    with torch_default_dtype(torch.float64):  # same rounding of NAdam's momentum product
        model, hist = gpu.train_torch(lambda: gpu.mlp(sizes, seed=4), "nadam", split,
                                      epochs=epochs, batch_size=b, seed=9, device=device, lr=0.01)
        net = gpu.mlp(sizes, seed=4, device=device)
        opt = torch.optim.NAdam(net.parameters(), lr=0.01, foreach=False)
        X = torch.tensor(split.X_train, device=device)
        y = torch.tensor(split.y_train, device=device)
        gen = torch.Generator(device=device).manual_seed(9)
        losses = []
        for _ in range(epochs):
            perm = torch.randperm(len(y), generator=gen, device=device)
            batch_losses = []
            for lo in range(0, len(y), b):
                idx = perm[lo:lo + b]
                opt.zero_grad()
                loss = F.cross_entropy(net(X[idx]), y[idx])
                loss.backward()
                opt.step()
                batch_losses.append(loss.item())
            losses.append(np.mean(batch_losses))
    for p, q in zip(model.parameters(), net.parameters()):
        assert torch.equal(p, q)
    np.testing.assert_allclose(hist.batch_loss, losses, rtol=1e-6)
    assert hist.steps == [6, 12, 18]


def test_train_torch_rejects_bad_input():
    split = toy_split()  # float64 data
    with pytest.raises(TypeError, match="dtype"):
        gpu.train_torch(lambda: gpu.mlp([5, 4, 3], device="cpu"), "sgd", split, device="cpu")
    with pytest.raises(TypeError, match="nn.Module"):
        gpu.train_torch(lambda: None, "sgd", split, device="cpu")
    with pytest.raises(ValueError, match="epochs"):
        gpu.train_torch(lambda: gpu.mlp([5, 4, 3], dtype=torch.float64), "sgd", split,
                        epochs=0, device="cpu")


def test_first_reaching():
    h = History(val_acc=[0.5, 0.8, 0.95, 0.9], epoch_time=[1.0, 2.0, 3.0, 4.0])
    assert h.first_reaching(0.8) == (2, 3.0)
    assert h.first_reaching(0.9) == (3, 6.0)
    assert h.first_reaching(0.99) == (None, None)


def test_early_stopping_is_fits():
    """train_torch with patience stops where the rule says on the full run's validation
    losses, and restores the weights of the best epoch (as train.fit does)."""
    split = toy_split()
    sizes, patience = [5, 8, 3], 2

    def model_fn():
        return gpu.mlp(sizes, seed=3, dtype=torch.float64, device="cpu")

    saved = []
    _, full = gpu.train_torch(model_fn, "adam", split, epochs=25, batch_size=8, device="cpu",
                              lr=0.2, callback=lambda e, h, m: saved.append(
                                  [p.detach().clone() for p in m.parameters()]))
    # the rule, applied by hand to the full run's validation losses
    best, best_epoch, stop = np.inf, None, None
    for epoch, value in enumerate(full.val_loss):
        if value < best:
            best, best_epoch, since = value, epoch, 0
        else:
            since += 1
            if since == patience:
                stop = epoch
                break
    assert stop is not None and stop < 24, "the toy run must stop early for this test"
    model, hist = gpu.train_torch(model_fn, "adam", split, epochs=25, batch_size=8,
                                  device="cpu", lr=0.2, patience=patience)
    assert hist.stopped_epoch == stop and hist.best_epoch == best_epoch and hist.restored
    assert hist.val_loss == full.val_loss[:stop + 1]
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), saved[best_epoch]))
    with pytest.raises(ValueError, match="patience must be an integer >= 1, got 0"):
        gpu.train_torch(model_fn, "adam", split, epochs=2, device="cpu", patience=0)


def test_course_only_keywords_are_derived_from_the_signatures():
    assert gpu.COURSE_ONLY == {"rmsprop": {"eps_inside": False},
                               "adam": {"bias_correction": True, "eps_inside": False},
                               "nadam": {"constant_momentum": False}}
    assert gpu.TORCH_TWINS is torch_optim.TORCH_TWINS
