"""course_lib.train.fit: batching, optimizer states, history, early stopping, arguments."""

import numpy as np
import pytest

from course_lib import data, optim
from course_lib.models import MLP
from course_lib.optim._base import Rule
from course_lib.train import History, evaluate, fit


class RecordingMLP(MLP):
    """MLP that records the examples (column 0 holds each example's index) and the loss of
    every training-mode call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches, self.losses = [], []

    def loss(self, X, y=None, mode=None):
        out = super().loss(X, y, mode)
        if y is not None and mode == "train":
            self.batches.append(X[:, 0].astype(int))
            self.losses.append(out[0])
        return out


def toy_problem(n=50, d=6, c=3, seed=0):
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, d))
    X[:, 0] = np.arange(n)  # example index, used by RecordingMLP
    y = r.integers(0, c, size=n)
    return X, y


@pytest.fixture(scope="module")
def digits():
    return data.load_digits(seed=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_reaches_95_percent_with_adam(digits, seed):
    s = digits
    model = MLP([64, 100, 10], seed=seed)
    hist = fit(model, optim.adam(lr=3e-3), s.X_train, s.y_train, s.X_val, s.y_val, epochs=20, batch_size=64,
               seed=seed)
    assert hist.val_acc[-1] >= 0.95
    assert len(hist.val_acc) == 20 and hist.stopped_epoch is None and not hist.restored
    assert hist.train_loss[-1] < hist.train_loss[0]
    # the history's last numbers are the final model's, measured the same way: the same
    # operations on the same arrays in the same order, so equal to the bit on any machine
    assert (hist.val_loss[-1], hist.val_acc[-1]) == evaluate(model, s.X_val, s.y_val)
    assert (hist.train_loss[-1], hist.train_acc[-1]) == evaluate(model, s.X_train, s.y_train)
    assert hist.val_acc[-1] == model.accuracy(s.X_val, s.y_val)


@pytest.mark.parametrize("batch_size", [16, 7, 50, 64])
def test_each_example_once_per_epoch_reshuffled_last_batch_kept(batch_size):
    X, y = toy_problem(n=50)
    model = RecordingMLP([6, 5, 3], seed=1)
    epochs = 3
    hist = fit(model, optim.sgd(lr=0.01), X, y, epochs=epochs, batch_size=batch_size, seed=4)
    per_epoch = -(-50 // batch_size)
    assert len(model.batches) == epochs * per_epoch
    rng = np.random.default_rng(4)  # fit's documented permutation source
    for e in range(epochs):
        batches = model.batches[e * per_epoch : (e + 1) * per_epoch]
        sizes = [len(b) for b in batches]
        assert sizes[:-1] == [batch_size] * (per_epoch - 1) and sizes[-1] == 50 - batch_size * (per_epoch - 1)
        order = np.concatenate(batches)
        assert sorted(order) == list(range(50))  # every example exactly once
        np.testing.assert_array_equal(order, rng.permutation(50))
        losses = model.losses[e * per_epoch : (e + 1) * per_epoch]
        assert hist.batch_loss[e] == pytest.approx(np.mean(losses), rel=1e-15)
    firsts = [np.concatenate(model.batches[e * per_epoch : (e + 1) * per_epoch]) for e in range(epochs)]
    assert not np.array_equal(firsts[0], firsts[1])  # reshuffled every epoch


def test_one_optimizer_state_per_parameter_and_updates_match_manual_loop():
    X, y = toy_problem(n=40)
    base = optim.sgd(lr=0.05)
    inits, steps = [], []

    def init(w):
        inits.append(w.shape)
        return {"inner": base.init(w), "shape": w.shape, "t": 0}

    def step(w, g, state):
        assert state["shape"] == w.shape == g.shape  # each parameter gets its own state
        steps.append(w.shape)
        w_new, inner = base.step(w, g, state["inner"])
        return w_new, {"inner": inner, "shape": w.shape, "t": state["t"] + 1}

    rule = Rule("wrapped_sgd", init, step, {"lr": 0.05})
    model = MLP([6, 5, 4, 3], batchnorm=True, seed=2)
    ref = MLP([6, 5, 4, 3], batchnorm=True, seed=2)
    fit(model, rule, X, y, epochs=2, batch_size=16, seed=5)
    assert sorted(inits) == sorted(w.shape for w in ref.params.values())
    assert len(steps) == 2 * 3 * len(ref.params)
    # independent re-run of plain mini-batch SGD: w <- w - eta g
    rng = np.random.default_rng(5)
    for _ in range(2):
        order = rng.permutation(40)
        for lo in range(0, 40, 16):
            idx = order[lo : lo + 16]
            _, grads = ref.loss(X[idx], y[idx], mode="train")
            for name, g in grads.items():
                ref.params[name] = ref.params[name] - 0.05 * g
    got, want = model.state_dict(), ref.state_dict()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-13, atol=1e-15, err_msg=k)


def test_history_lr_schedule_and_train_metrics():
    X, y = toy_problem(n=50)
    Xv, yv = toy_problem(n=20, seed=1)

    def lr(k):
        return 0.1 * 0.9**k

    model = MLP([6, 8, 3], seed=3)
    hist = fit(model, optim.sgd(lr=lr), X, y, Xv, yv, epochs=3, batch_size=16, seed=0)
    # 50 examples in batches of 16: 4 updates per epoch; lr of each epoch's first update
    assert hist.lr == [lr(0), lr(4), lr(8)]
    assert len(hist.epoch_time) == 3 and all(t >= 0 for t in hist.epoch_time)
    assert hist.best_epoch is not None and hist.stopped_epoch is None
    d = hist.as_dict()
    assert set(d) >= {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time", "best_epoch", "stopped_epoch", "restored"}
    d["train_loss"].append(0.0)
    assert len(hist.train_loss) == 3  # as_dict copies
    nothing = fit(MLP([6, 8, 3]), optim.sgd(lr=0.1), X, y, epochs=2)
    assert nothing.val_loss == [] and nothing.val_acc == [] and nothing.best_epoch is None
    assert len(nothing.train_acc) == 2
    assert isinstance(nothing, History)


def overfitting_problem():
    """Few noisy training examples and a wide net: the validation loss soon rises."""
    r = np.random.default_rng(0)
    X = r.standard_normal((40, 10))
    y = r.integers(0, 3, size=40)
    Xv = r.standard_normal((60, 10))
    yv = r.integers(0, 3, size=60)
    return X, y, Xv, yv


@pytest.mark.parametrize("monitor", ["val_loss", "val_acc"])
def test_early_stopping_restores_best_complete_state_exactly(monitor):
    X, y, Xv, yv = overfitting_problem()
    model = MLP([10, 64, 64, 3], batchnorm=True, seed=0)
    snapshots = []

    def record(epoch, history, model_):
        assert epoch == len(snapshots)
        snapshots.append(model_.state_dict())

    patience = 3
    hist = fit(model, optim.adam(lr=1e-2), X, y, Xv, yv, epochs=60, batch_size=8, seed=0,
               patience=patience, monitor=monitor, callback=record)
    values = hist.val_loss if monitor == "val_loss" else [-a for a in hist.val_acc]
    assert hist.stopped_epoch is not None and hist.stopped_epoch < 59
    assert hist.best_epoch == int(np.argmin(values))  # min_delta = 0: the first minimum
    assert hist.stopped_epoch == hist.best_epoch + patience
    assert len(snapshots) == len(hist.val_loss) == hist.stopped_epoch + 1
    assert hist.restored
    best, final = snapshots[hist.best_epoch], model.state_dict()
    assert set(final) == set(best) and "bn2.running_var" in final
    for k in best:
        assert np.array_equal(final[k], best[k]), k
    # the BN statistics did move between the best and the last epoch, so restoring them mattered
    assert not np.array_equal(snapshots[-1]["bn1.running_mean"], best["bn1.running_mean"])
    assert evaluate(model, Xv, yv)[0] == hist.val_loss[hist.best_epoch]


def test_min_delta_and_restore_best_false(digits):
    s = digits
    runs = {}
    for min_delta in (0.0, 0.01):
        model = MLP([64, 32, 10], seed=1)
        runs[min_delta] = h = fit(model, optim.adam(lr=1e-3), s.X_train, s.y_train, s.X_val, s.y_val, epochs=30,
                                  patience=2, min_delta=min_delta, monitor="val_acc", restore_best=False)
        # independent replay of the stopping rule on the recorded accuracies
        best, best_epoch, wait = -np.inf, None, 0
        for e, a in enumerate(h.val_acc):
            if a > best + min_delta:
                best, best_epoch, wait = a, e, 0
            else:
                wait += 1
                if wait >= 2:
                    break
        assert (h.best_epoch, h.stopped_epoch) == (best_epoch, e)
        assert not h.restored
        assert evaluate(model, s.X_val, s.y_val)[1] == h.val_acc[-1]  # final weights kept
    # slowly rising accuracy: demanding gains of 1 point stops training earlier
    assert runs[0.01].stopped_epoch < runs[0.0].stopped_epoch < 29


def test_callback_can_stop_training():
    X, y = toy_problem()
    hist = fit(MLP([6, 5, 3]), optim.sgd(lr=0.1), X, y, epochs=10, callback=lambda e, h, m: e == 2)
    assert len(hist.train_loss) == 3 and hist.stopped_epoch == 2 and not hist.restored


def test_same_seed_same_history_and_weights(digits):
    s = digits
    runs = []
    for seed in (0, 0, 1):
        model = MLP([64, 32, 10], batchnorm=True, seed=0)
        h = fit(model, optim.adam(lr=1e-3), s.X_train, s.y_train, s.X_val, s.y_val, epochs=3, seed=seed)
        d = h.as_dict()
        d.pop("epoch_time")
        runs.append((d, model.state_dict()))
    (d0, w0), (d1, w1), (d2, w2) = runs
    assert d0 == d1  # the same operations in the same order: bitwise reproducible
    assert all(np.array_equal(w0[k], w1[k]) for k in w0)
    assert d0["train_loss"] != d2["train_loss"]  # a different shuffle gives a different run


def test_inputs_are_not_mutated():
    X, y = toy_problem()
    Xv, yv = toy_problem(n=20, seed=1)
    saved = [a.copy() for a in (X, y, Xv, yv)]
    fit(MLP([6, 5, 3], batchnorm=True), optim.sgd(lr=0.1), X, y, Xv, yv, epochs=2)
    for a, c in zip((X, y, Xv, yv), saved):
        np.testing.assert_array_equal(a, c)


def test_progress_bar_switch(capsys, monkeypatch):
    X, y = toy_problem()
    fit(MLP([6, 5, 3]), optim.sgd(lr=0.1), X, y, epochs=2, progress=True)
    assert "epoch" in capsys.readouterr().err
    fit(MLP([6, 5, 3]), optim.sgd(lr=0.1), X, y, epochs=2, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("CI", raising=False)
    fit(MLP([6, 5, 3]), optim.sgd(lr=0.1), X, y, epochs=2)  # captured stderr is not a tty
    assert capsys.readouterr().err == ""


def test_bad_arguments_give_clear_errors():
    X, y = toy_problem()
    model, rule = MLP([6, 5, 3]), optim.sgd(lr=0.1)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, rule, X, y, batch_size=0)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, rule, X, y, epochs=0)
    with pytest.raises(ValueError, match="monitor.*val_acc"):
        fit(model, rule, X, y, X, y, monitor="train_loss")
    with pytest.raises(ValueError, match="patience.*validation"):
        fit(model, rule, X, y, patience=3)
    with pytest.raises(ValueError, match="patience"):
        fit(model, rule, X, y, X, y, patience=0)
    with pytest.raises(ValueError, match="X_val and y_val"):
        fit(model, rule, X, y, X_val=X)
    with pytest.raises(ValueError, match="min_delta"):
        fit(model, rule, X, y, X, y, min_delta=-1.0)
    with pytest.raises(ValueError, match="y_train"):
        fit(model, rule, X, y[:-1])
    with pytest.raises(TypeError, match="rule"):
        fit(model, "adam", X, y)


def test_float32_training_stays_float32():
    X, y = toy_problem()
    model = MLP([6, 5, 3], batchnorm=True, dtype=np.float32)
    hist = fit(model, optim.sgd(lr=0.1), X.astype(np.float32), y, epochs=2)
    assert all(v.dtype == np.float32 for v in model.state_dict().values())
    assert np.isfinite(hist.train_loss).all()


def test_drop_last_skips_the_short_batch_and_batch_norm_asks_for_it():
    X, y = toy_problem(n=50)
    model = RecordingMLP([6, 5, 3], seed=1)
    fit(model, optim.sgd(lr=0.01), X, y, epochs=2, batch_size=7, seed=4, drop_last=True)
    assert [len(b) for b in model.batches] == [7] * 14  # 50 = 7 * 7 + 1: the 1 is skipped
    seen = np.concatenate(model.batches[:7])
    assert len(set(seen.tolist())) == 49
    # With batch norm, a last batch of one example cannot be normalised: a clear error
    # before any training, unless drop_last (digits with B = 2 or 7 hit this).
    bn = MLP([6, 5, 3], batchnorm=True, seed=1)
    with pytest.raises(ValueError, match=r"last mini-batch of 1 example.*drop_last=True"):
        fit(bn, optim.sgd(lr=0.01), X, y, epochs=1, batch_size=7)
    hist = fit(bn, optim.sgd(lr=0.01), X, y, epochs=1, batch_size=7, drop_last=True)
    assert np.isfinite(hist.train_loss[-1])
    with pytest.raises(TypeError, match="drop_last"):
        fit(bn, optim.sgd(lr=0.01), X, y, batch_size=7, drop_last="yes")
    with pytest.raises(ValueError, match="no mini-batch"):
        fit(MLP([6, 5, 3]), optim.sgd(lr=0.01), X, y, batch_size=64, drop_last=True)
