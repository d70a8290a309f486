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

from . import layers

__all__ = ["History", "fit", "evaluate"]

_MONITORS = {"val_loss": "min", "val_acc": "max"}


@dataclasses.dataclass
class History:
    """What :func:`fit` records, one entry per epoch run (epochs are numbered from 0, so
    ``history.val_loss[history.best_epoch]`` is the best monitored epoch's loss).

    - ``train_loss``, ``train_acc``: loss and accuracy over the *whole* training set,
      computed in eval mode after the epoch's updates (the same measurement as the
      validation numbers, hence comparable to them).
    - ``batch_loss``: mean of the mini-batch losses seen during the epoch (train mode,
      weights changing along the way): the cheap running estimate most training logs show.
    - ``val_loss``, ``val_acc``: on the validation set (empty lists without one).
    - ``lr``: learning rate of the epoch's first update (a schedule ``lr(k)`` is evaluated
      at k = number of updates taken before it; NaN when the rule has no ``lr``).
    - ``epoch_time``: wall-clock seconds of the epoch (training and evaluation).
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
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    restored: bool = False

    def as_dict(self):
        """Plain dict of copies of every field (lists copied)."""
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), list) else v)
            for f in dataclasses.fields(self)
        }


def evaluate(model, X, y):
    """Mean softmax cross-entropy and accuracy of ``model`` on ``(X, y)`` in eval mode
    (batch-norm running statistics are used and left unchanged). Returns ``(loss, acc)``."""
    scores = model.loss(X, mode="eval")
    loss, _ = layers.softmax_loss(scores, y)
    return loss, float(np.mean(np.argmax(scores, axis=1) == y))


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


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
            raise TypeError(f"rule must provide callable init(w) and step(w, g, state) (a course_lib.optim Rule), got {rule!r}")
    X_train, y_train = _check_xy("X_train", X_train, "y_train", y_train)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together (both or neither)")
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _check_xy("X_val", X_val, "y_val", y_val)
    epochs = _check_positive_int("epochs", epochs)
    batch_size = _check_positive_int("batch_size", batch_size)
    if monitor not in _MONITORS:
        raise ValueError(f"monitor must be one of {sorted(_MONITORS)}, got {monitor!r}")
    if patience is not None:
        patience = _check_positive_int("patience", patience)
        if not has_val:
            raise ValueError("patience (early stopping) needs validation data: pass X_val and y_val")
    if not (isinstance(min_delta, (int, float, np.floating, np.integer)) and min_delta >= 0):
        raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable(epoch, history, model) or None, got {callback!r}")
    if not isinstance(drop_last, (bool, np.bool_)):
        raise TypeError(f"drop_last must be True or False, got {drop_last!r}")

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
    sign = 1.0 if _MONITORS[monitor] == "min" else -1.0  # compare sign*value: lower is better
    best_value = math.inf
    best_state = None
    wait = 0
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
            history.batch_loss.append(float(np.mean(batch_losses)))
            train_loss, train_acc = evaluate(model, X_train, y_train)
            history.train_loss.append(train_loss)
            history.train_acc.append(train_acc)
            postfix = {"train_loss": f"{train_loss:.4f}"}
            stop = False
            if has_val:
                val_loss, val_acc = evaluate(model, X_val, y_val)
                history.val_loss.append(val_loss)
                history.val_acc.append(val_acc)
                postfix["val_acc"] = f"{val_acc:.4f}"
                value = sign * (val_loss if monitor == "val_loss" else val_acc)
                if value < best_value - min_delta:
                    best_value, history.best_epoch, wait = value, epoch, 0
                    if patience is not None and restore_best:
                        best_state = model.state_dict()
                else:
                    wait += 1
                    stop = patience is not None and wait >= patience
            history.epoch_time.append(time.perf_counter() - start)
            bar.set_postfix(postfix)
            if callback is not None and callback(epoch, history, model):
                stop = True
            if stop:
                if epoch < epochs - 1:
                    history.stopped_epoch = epoch
                break
    finally:
        bar.close()

    last_epoch = len(history.train_loss) - 1
    if best_state is not None and history.best_epoch != last_epoch:
        model.load_state_dict(best_state)
        history.restored = True
    return history
