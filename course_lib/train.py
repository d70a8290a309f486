r"""Mini-batch training loop for :class:`course_lib.models.MLP` with any update rule.

One epoch visits every training example exactly once: the indices are reshuffled (a fresh
permutation, i.e. sampling *without* replacement) and cut into consecutive mini-batches of
B = ``batch_size`` examples, the last one possibly smaller. For the mini-batch
:math:`\mathcal{B}_t` of step t and each parameter array :math:`w`,

.. math:: g_t = \nabla_w \frac{1}{|\mathcal{B}_t|}\sum_{i\in\mathcal{B}_t} \ell_i(w),
          \qquad (w, \text{state}_w) \leftarrow \text{rule.step}(w, g_t, \text{state}_w),

with one optimizer state per parameter array, created by ``rule.init(w)``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time

import numpy as np
from tqdm.auto import tqdm

from . import _validate, layers

__all__ = ["History", "EarlyStopping", "check_callback", "end_of_epoch", "fit", "evaluate"]


@dataclasses.dataclass
class History:
    """What a training loop records, one entry per epoch run: :func:`fit` for the NumPy
    models, :func:`course_lib.gpu.train_torch` for torch models. Epochs are numbered from
    0, so ``history.val_loss[history.best_epoch]`` is the best monitored epoch's loss.

    - ``train_loss``, ``train_acc``: loss and accuracy over the *whole* training set,
      computed in eval mode after the epoch's updates (the same measurement as the
      validation numbers, hence comparable to them).
    - ``batch_loss``: mean of the mini-batch losses seen during the epoch (train mode,
      weights changing along the way): the cheap running estimate most training logs show.
    - ``val_loss``, ``val_acc``: on the validation set (empty lists without one).
    - ``lr``: learning rate of the epoch's first update (a schedule ``lr(k)`` is evaluated
      at k = number of updates taken before it; NaN when the rule has no ``lr``).
    - ``epoch_time``: wall-clock seconds of the epoch's training steps (evaluation is not
      counted; on a GPU the device is synchronised before and after).
    - ``steps``: optimizer steps taken by the end of each epoch.
    - ``best_epoch``: epoch of the best monitored value (None without validation data).
    - ``stopped_epoch``: last epoch run when training stopped early (patience or callback),
      None when every requested epoch ran.
    - ``restored``: True when the model was reset to its state at ``best_epoch``.
    """

    train_loss: list = dataclasses.field(default_factory=list)
    train_acc: list = dataclasses.field(default_factory=list)
    batch_loss: list = dataclasses.field(default_factory=list)
    val_loss: list = dataclasses.field(default_factory=list)
    val_acc: list = dataclasses.field(default_factory=list)
    lr: list = dataclasses.field(default_factory=list)
    epoch_time: list = dataclasses.field(default_factory=list)
    steps: list = dataclasses.field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    restored: bool = False

    def append(self, **values) -> None:
        """Append each value to the list of the same name (``append(val_loss=0.3)``)."""
        for name, value in values.items():
            getattr(self, name).append(value)

    @property
    def elapsed(self) -> np.ndarray:
        """Cumulative training seconds at the end of each epoch."""
        return np.cumsum(self.epoch_time)

    def first_reaching(self, threshold: float, metric: str = "val_acc"):
        """``(epochs, seconds)`` needed until ``metric`` first reaches ``threshold``
        (epochs counted from 1, seconds of training), or ``(None, None)`` if it never does."""
        for k, value in enumerate(getattr(self, metric)):
            if value >= threshold:
                return k + 1, float(self.elapsed[k])
        return None, None

    def as_dict(self):
        """Plain dict of copies of every field (lists copied)."""
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), list) else v)
            for f in dataclasses.fields(self)
        }


class EarlyStopping:
    r"""The early-stopping rule of both training loops, applied after every epoch.

    An epoch *improves* when its monitored value beats the best so far by more than
    ``min_delta``: ``val_loss < best - min_delta`` (``monitor="val_loss"``) or
    ``val_acc > best + min_delta`` (``monitor="val_acc"``). After ``patience`` epochs in a
    row without improvement, :meth:`update` says stop (never with ``patience=None``). With
    early stopping and ``restore_best`` it keeps the complete state of the model at the best
    epoch, which :meth:`restore` reloads once training has ended on a later epoch.

    Args:
        monitor: ``"val_loss"`` (lower is better) or ``"val_acc"`` (higher is better).
        patience: None (no early stopping) or an int >= 1.
        min_delta: a number >= 0.
        restore_best: keep and restore the best state (with early stopping only).
    """

    _DIRECTIONS = {"val_loss": 1.0, "val_acc": -1.0}  # compare sign * value: lower is better

    def __init__(self, monitor="val_loss", patience=None, min_delta=0.0, restore_best=True):
        self.monitor = _validate.one_of("monitor", monitor, tuple(self._DIRECTIONS))
        self.patience = None if patience is None else _validate.integer("patience", patience,
                                                                        low=1)
        self.min_delta = _validate.number("min_delta", min_delta, low=0.0)
        self.restore_best = _validate.flag("restore_best", restore_best)
        self.best_value, self.best_state, self.wait = math.inf, None, 0

    def update(self, epoch, history, snapshot) -> bool:
        """Judge ``epoch`` by its monitored value in ``history`` (setting
        ``history.best_epoch``); ``snapshot()`` returns a copy of the model's complete state.
        Returns True when training should stop."""
        value = self._DIRECTIONS[self.monitor] * getattr(history, self.monitor)[-1]
        if value < self.best_value - self.min_delta:
            self.best_value, history.best_epoch, self.wait = value, epoch, 0
            if self.patience is not None and self.restore_best:
                self.best_state = snapshot()
            return False
        self.wait += 1
        return self.patience is not None and self.wait >= self.patience

    def restore(self, history, load) -> None:
        """``load(best_state)`` if the best epoch was not the last one run."""
        last_epoch = len(history.train_loss) - 1
        if self.best_state is not None and history.best_epoch != last_epoch:
            load(self.best_state)
            history.restored = True


def check_callback(callback) -> None:
    """A per-epoch callback is None or a callable ``callback(epoch, history, model)``."""
    if callback is not None and not callable(callback):
        _validate.fail(TypeError, "callback", "None or a callable(epoch, history, model)",
                       callback)


def end_of_epoch(epoch, epochs, history, stopper, snapshot, callback=None, model=None) -> bool:
    """What both training loops do once an epoch's numbers are in ``history``: early
    stopping (with validation data), then ``callback(epoch, history, model)``, which stops
    training by returning True. Records ``history.stopped_epoch``; returns True to stop."""
    stop = bool(history.val_loss) and stopper.update(epoch, history, snapshot)
    if callback is not None and callback(epoch, history, model):
        stop = True
    if stop and epoch < epochs - 1:
        history.stopped_epoch = epoch
    return stop


def evaluate(model, X, y):
    """Mean softmax cross-entropy and accuracy of ``model`` on ``(X, y)`` in eval mode
    (batch-norm running statistics are used and left unchanged). Returns ``(loss, acc)``."""
    scores = model.loss(X, mode="eval")
    loss, _ = layers.softmax_loss(scores, y)
    return loss, float(np.mean(np.argmax(scores, axis=1) == y))


def _check_xy(name_x, X, name_y, y):
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"{name_x} must have shape (n, D), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{name_y} must have shape ({X.shape[0]},) to match {name_x}, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name_y} must hold integer class labels, got dtype {y.dtype}")
    if X.shape[0] == 0:
        raise ValueError(f"{name_x} must contain at least one example")
    return X, y


def _progress_enabled(progress):
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI"):
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def _lr_at(rule, k):
    lr = getattr(rule, "hyperparams", {}).get("lr", math.nan)
    return float(lr(k)) if callable(lr) else float(lr)


def fit(
    model,
    rule,
    X_train,
    y_train,
    X_val=None,
    y_val=None,
    epochs=10,
    batch_size=64,
    seed=0,
    patience=None,
    min_delta=0.0,
    monitor="val_loss",
    restore_best=True,
    progress=None,
    callback=None,
    drop_last=False,
):
    r"""Train ``model`` in place with the update rule ``rule``; return a :class:`History`.

    Parameters
    ----------
    model : MLP (anything with ``params``, ``loss``, ``state_dict``, ``load_state_dict``)
    rule : course_lib.optim Rule (``init(w) -> state``, ``step(w, g, state) -> (w, state)``)
    X_train, y_train : training data, shapes (n, D) and (n,) integer labels (n examples)
    X_val, y_val : optional validation data (both or neither)
    epochs : maximum number of passes over the training set (>= 1)
    batch_size : examples per mini-batch, B (>= 1); the last batch of an epoch keeps the
        n mod B leftover examples, unless ``drop_last``
    seed : seed of ``np.random.default_rng`` that draws each epoch's permutation
    patience : None (no early stopping) or int >= 1: stop after ``patience`` consecutive
        epochs without improvement of ``monitor``; needs validation data
    min_delta : an improvement must beat the best value by more than ``min_delta`` (>= 0):
        ``val_loss < best - min_delta`` or ``val_acc > best + min_delta``
    monitor : "val_loss" (lower is better) or "val_acc" (higher is better)
    restore_best : with early stopping, reload the complete state (``state_dict``: weights
        and batch-norm running statistics) saved at ``best_epoch`` when training ends
    progress : True / False, or None: a tqdm bar over epochs is shown only when stderr is a
        terminal and the environment variable CI is unset
    callback : optional ``callback(epoch, history, model)`` called after each epoch's
        history entry; returning True stops training after that epoch
    drop_last : skip each epoch's last mini-batch when it has fewer than B examples (as
        ``torch.utils.data.DataLoader(drop_last=True)``). A model with batch norm cannot
        train on a batch of one example (its variance is 0), so with batch norm and
        n mod B = 1 either ``drop_last=True`` or another ``batch_size`` is required.

    The model's parameters are replaced by new arrays at every step (the rule is pure);
    batch-norm running statistics are updated by the training-mode forward passes.
    """
    for name in ("init", "step"):
        if not callable(getattr(rule, name, None)):
            _validate.fail(TypeError, "rule", "a course_lib.optim Rule, with callable init(w) "
                           "and step(w, g, state)", rule)
    X_train, y_train = _check_xy("X_train", X_train, "y_train", y_train)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together (both or neither)")
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _check_xy("X_val", X_val, "y_val", y_val)
    epochs = _validate.integer("epochs", epochs, low=1)
    batch_size = _validate.integer("batch_size", batch_size, low=1)
    stopper = EarlyStopping(monitor, patience, min_delta, restore_best)
    if patience is not None and not has_val:
        raise ValueError("patience (early stopping) needs validation data: pass X_val and y_val")
    check_callback(callback)
    drop_last = _validate.flag("drop_last", drop_last)

    n = X_train.shape[0]
    if getattr(model, "bn_params", None) and n % batch_size == 1 and not drop_last:
        raise ValueError(
            f"batch_size={batch_size} leaves a last mini-batch of 1 example in every epoch "
            f"(n = {n} training examples), and batch norm needs at least 2 per batch in "
            "training mode: pass drop_last=True or choose another batch_size")
    if drop_last and n < batch_size:
        raise ValueError(f"drop_last=True with batch_size={batch_size} > n = {n} leaves no "
                         "mini-batch to train on")
    stop_at = n - n % batch_size if drop_last else n
    rng = np.random.default_rng(seed)
    states = {name: rule.init(w) for name, w in model.params.items()}
    history = History()
    steps = 0

    bar = tqdm(range(epochs), desc="epochs", unit="epoch", disable=not _progress_enabled(progress), leave=False)
    try:
        for epoch in bar:
            start = time.perf_counter()
            history.lr.append(_lr_at(rule, steps))
            order = rng.permutation(n)
            batch_losses = []
            for lo in range(0, stop_at, batch_size):
                idx = order[lo : lo + batch_size]
                loss, grads = model.loss(X_train[idx], y_train[idx], mode="train")
                batch_losses.append(loss)
                for name, g in grads.items():
                    model.params[name], states[name] = rule.step(model.params[name], g, states[name])
                steps += 1
            history.append(epoch_time=time.perf_counter() - start, steps=steps,
                           batch_loss=float(np.mean(batch_losses)))
            train_loss, train_acc = evaluate(model, X_train, y_train)
            history.append(train_loss=train_loss, train_acc=train_acc)
            postfix = {"train_loss": f"{train_loss:.4f}"}
            if has_val:
                val_loss, val_acc = evaluate(model, X_val, y_val)
                history.append(val_loss=val_loss, val_acc=val_acc)
                postfix["val_acc"] = f"{val_acc:.4f}"
            bar.set_postfix(postfix)
            if end_of_epoch(epoch, epochs, history, stopper, model.state_dict, callback, model):
                break
    finally:
        bar.close()

    stopper.restore(history, model.load_state_dict)
    return history
