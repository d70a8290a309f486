r"""Training the course's PyTorch models on a GPU (or the CPU) with the data kept on the device.

Chapter 13 compares optimizers on a GPU. What it needs, and what lives here:

- :func:`select_device`: ``"auto"`` picks CUDA when available, else the CPU.
- :func:`to_device`: copies the arrays of a data :class:`~course_lib.data.Split` to the
  device *once*.
- :class:`DeviceLoader`: mini-batches drawn from tensors that already live on the device.
  Each epoch draws a permutation :math:`\pi` of :math:`\{0, \dots, N-1\}` *on the device*
  and yields :math:`(X[\pi_{kB:(k+1)B}], y[\pi_{kB:(k+1)B}])`, :math:`k = 0, 1, \dots`:
  sampling without replacement, reshuffled every epoch, with no host-to-device copy and no
  host synchronisation per batch.
- :func:`mlp`: a ReLU network ``Linear -> ReLU -> ... -> Linear`` whose initial weights are
  exactly those of :class:`course_lib.models.MLP` with the same ``sizes`` and ``seed`` (He
  initialisation :math:`W_l \sim \mathcal{N}(0, 2/n_{l-1})`, biases 0), so that two models
  built with the same seed start from the same point on every device.
- :func:`make_optimizer`: the optimizer called ``name`` either from
  :mod:`course_lib.torch_optim` or from ``torch.optim`` with the arguments that select the
  same rule (``course_lib.torch_optim.TORCH_TWINS``).
- :func:`train_torch`: a seeded training loop (mean softmax cross-entropy, one optimizer
  step per mini-batch) that records the :class:`course_lib.train.History` of
  :func:`course_lib.train.fit`, with the same early stopping.

Each step of :func:`train_torch`, for a mini-batch :math:`\mathcal{B}` and every parameter
tensor :math:`w` of the model, is

.. math:: g = \nabla_w \frac{1}{|\mathcal{B}|}\sum_{i \in \mathcal{B}} \ell(x_i, y_i; w),
          \qquad w \leftarrow \text{optimizer step}(w, g).
"""

from __future__ import annotations

import inspect
import math
import time
from typing import Any, Callable

import numpy as np

from ._requires import require_torch

require_torch("course_lib.gpu")

import torch  # noqa: E402  (after the check: a clear error first)
import torch.nn.functional as F
from torch import nn

from . import _validate, torch_optim
from .models import MLP
from .train import EarlyStopping, History, check_callback, end_of_epoch

__all__ = [
    "select_device",
    "synchronize",
    "to_device",
    "DeviceLoader",
    "mlp",
    "TORCH_TWINS",
    "COURSE_ONLY",
    "make_optimizer",
    "evaluate_torch",
    "train_torch",
]


# --------------------------------------------------------------------------- devices
def select_device(device: Any = "auto") -> torch.device:
    """The device to compute on: ``"auto"`` (or ``None``) gives CUDA when
    ``torch.cuda.is_available()`` and the CPU otherwise; ``"cpu"``, ``"cuda"``,
    ``"cuda:1"`` or a ``torch.device`` are taken as given. Asking for CUDA on a machine
    without it raises ``RuntimeError``."""
    expected = "'auto', 'cpu', 'cuda', 'cuda:N' or a CPU or CUDA torch.device"
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            _validate.fail(ValueError, "device", expected, device)
    else:
        _validate.fail(TypeError, "device", expected, device)
    if dev.type not in ("cpu", "cuda"):
        _validate.fail(ValueError, "device", expected, device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but torch.cuda.is_available() is False")
    return dev


def synchronize(device: Any) -> None:
    """Wait until every kernel queued on ``device`` has finished (a no-op on the CPU).

    CUDA calls return as soon as the work is *queued*; a wall-clock time taken without
    synchronising measures how fast Python queues kernels, not how fast the GPU runs them.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _tensor(a, device, name):
    if isinstance(a, torch.Tensor):
        return a.to(device)  # no copy when it is already there
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return torch.tensor(a, device=device)  # always a copy: the caller's array is never shared


def to_device(split, device: Any = "auto"):
    """A copy of ``split`` (a :class:`~course_lib.data.Split` or any NamedTuple of arrays)
    whose arrays are tensors on ``device``: features keep their dtype, labels become int64.
    Call it once and pass the result to :func:`train_torch`; nothing is copied again."""
    device = select_device(device)
    if not (isinstance(split, tuple) and hasattr(split, "_fields")):
        _validate.fail(TypeError, "split", "a NamedTuple such as course_lib.data.Split", split)
    out = {}
    for field, value in zip(split._fields, split):
        t = _tensor(value, device, f"split.{field}")
        out[field] = t.long() if field.startswith("y") else t
    return type(split)(**out)


# --------------------------------------------------------------------------- batches
class DeviceLoader:
    r"""Shuffled mini-batches of tensors that stay on one device.

    ``X`` (shape ``(n, ...)``) and ``y`` (shape ``(n,)``) are copied to ``device`` once, at
    construction (not at all if they are already there; the caller's arrays are never
    modified). Every iteration over the loader is one epoch: a fresh permutation
    :math:`\pi` is drawn with ``torch.randperm`` *on the device*, from a generator seeded with
    ``seed`` at construction, and the batches are ``X[pi[k B:(k+1) B]]``, ``y[...]``. Indexing
    a device tensor with a device index tensor gathers the rows on the device, so no batch
    passes through host memory and nothing waits for the GPU.

    Args:
        X, y: features and integer labels (NumPy arrays or tensors), same first dimension.
        batch_size: ``B >= 1``. The last batch holds the ``N mod B`` leftovers unless
            ``drop_last=True``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or a ``torch.device``.
        shuffle: ``False`` yields the rows in their stored order (for evaluation).
        seed: seed of the loader's own ``torch.Generator`` (the global RNG is not touched).

    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, X, y, batch_size, *, device="auto", shuffle=True, seed=0, drop_last=False):
        self.device = select_device(device)
        self.X = _tensor(X, self.device, "X")
        self.y = _tensor(y, self.device, "y")
        if self.y.ndim != 1 or self.X.ndim < 1 or self.X.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"y must have shape (n,) matching X's first dimension, got X {tuple(self.X.shape)} "
                f"and y {tuple(self.y.shape)}"
            )
        if self.y.is_floating_point() or self.y.is_complex():
            raise TypeError(f"y must hold integer class labels, got dtype {self.y.dtype}")
        self.y = self.y.long()
        self.batch_size = _validate.integer("batch_size", batch_size, low=1)
        self.shuffle = _validate.flag("shuffle", shuffle)
        self.drop_last = _validate.flag("drop_last", drop_last)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(_validate.integer("seed", seed))

    @property
    def num_examples(self) -> int:
        return int(self.X.shape[0])

    def __len__(self) -> int:
        n, b = self.num_examples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def __iter__(self):
        n = self.num_examples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=self.device)
        else:
            order = torch.arange(n, device=self.device)
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            yield self.X[idx], self.y[idx]


# --------------------------------------------------------------------------- the model
def mlp(sizes=(784, 300, 100, 10), seed=0, device="auto", dtype=torch.float32) -> nn.Sequential:
    r"""``Linear(D, H_1) -> ReLU -> ... -> Linear(H_{L-1}, C)`` for ``sizes = [D, H_1, ..., C]``.

    The initial weights are those of ``course_lib.models.MLP(sizes, seed=seed)`` (He
    initialisation, drawn in float64 with ``np.random.default_rng(seed)``), transposed to
    torch's ``(out, in)`` layout and cast to ``dtype``; biases start at 0. Two calls with the
    same ``sizes`` and ``seed`` therefore return identical networks, on any device, and the
    network computes the same scores as the NumPy MLP.
    """
    if dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        _validate.fail(TypeError, "dtype", "a torch floating-point dtype", dtype)
    device = select_device(device)
    reference = MLP(sizes, seed=seed, dtype=np.float64)  # validates sizes
    layers: list[nn.Module] = []
    for l, (fan_in, fan_out) in enumerate(zip(reference.sizes[:-1], reference.sizes[1:]), start=1):
        lin = nn.Linear(fan_in, fan_out, device=device, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(reference.params[f"W{l}"].T.copy()))
            lin.bias.zero_()
        layers.append(lin)
        if l < reference.num_layers:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------- optimizers
#: name -> (torch.optim class, the keywords that select the course's rule)
TORCH_TWINS = torch_optim.TORCH_TWINS


def _course_only(name: str) -> dict:
    """Keywords of our class that its torch twin lacks, with the default that means "what
    torch does" (the convention switches such as ``eps_inside``)."""
    ours = inspect.signature(torch_optim.CLASSES[name]).parameters
    theirs = inspect.signature(TORCH_TWINS[name][0]).parameters
    return {key: p.default for key, p in ours.items()
            if key not in theirs and p.kind is not p.VAR_KEYWORD}


#: name -> {keyword only course_lib has: the value torch implements}
COURSE_ONLY = {name: extra for name in torch_optim.CLASSES if (extra := _course_only(name))}

_IMPLEMENTATIONS = ("course_lib", "torch")


def make_optimizer(name: str, params, implementation: str = "course_lib", foreach=None,
                   **hyperparams) -> torch.optim.Optimizer:
    """The optimizer ``name`` (a key of ``course_lib.optim.RULES``) over ``params``.

    ``implementation="course_lib"`` builds ``course_lib.torch_optim.CLASSES[name]``;
    ``"torch"`` builds the ``torch.optim`` class of :data:`TORCH_TWINS` with the arguments
    that select the same rule, overridden by ``hyperparams``. ``foreach`` (torch only) picks
    torch's single-tensor loop (``False``), its multi-tensor kernels (``True``), or torch's
    own default (``None``: multi-tensor for CUDA tensors, single-tensor on the CPU). The
    course-only switches of :data:`COURSE_ONLY` are accepted with torch only at the value
    torch implements.
    """
    if name not in torch_optim.CLASSES:
        raise KeyError(f"unknown optimizer {name!r}; accepted names: {', '.join(torch_optim.CLASSES)}")
    _validate.one_of("implementation", implementation, _IMPLEMENTATIONS)
    if foreach is not None:
        _validate.flag("foreach", foreach)
    if implementation == "course_lib":
        if foreach is not None:
            raise ValueError("foreach applies to implementation='torch' only; course_lib.torch_optim "
                             "always updates one tensor at a time")
        return torch_optim.CLASSES[name](params, **hyperparams)
    cls, extra = TORCH_TWINS[name]
    kwargs = {**extra, **hyperparams}
    for key, torch_value in COURSE_ONLY.get(name, {}).items():
        if key in kwargs:
            if kwargs[key] != torch_value:
                raise ValueError(f"torch.optim.{cls.__name__} has no {key}={kwargs[key]!r}; only "
                                 f"implementation='course_lib' offers it")
            del kwargs[key]
    if foreach is not None:
        kwargs["foreach"] = foreach
    return cls(params, **kwargs)


# --------------------------------------------------------------------------- training
@torch.no_grad()
def evaluate_torch(model: nn.Module, X: torch.Tensor, y: torch.Tensor, chunk: int = 8192):
    """Mean cross-entropy and accuracy of ``model`` on ``(X, y)`` in eval mode, computed in
    chunks of ``chunk`` rows; returns two Python floats. The model's mode is restored."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=X.device)
    correct = torch.zeros((), dtype=torch.int64, device=X.device)
    for lo in range(0, X.shape[0], chunk):
        scores = model(X[lo:lo + chunk])
        loss_sum += F.cross_entropy(scores, y[lo:lo + chunk], reduction="sum").double()
        correct += (scores.argmax(dim=1) == y[lo:lo + chunk]).sum()
    model.train(was_training)
    n = X.shape[0]
    return float(loss_sum) / n, float(correct) / n


def train_torch(model_fn: Callable[[], nn.Module], opt_name: str, data, *, epochs: int = 10,
                batch_size: int = 64, seed: int = 0, device: Any = "auto",
                implementation: str = "course_lib", foreach=None, patience=None,
                min_delta=0.0, monitor="val_loss", restore_best=True, callback=None,
                **hyperparams):
    r"""Train a fresh model ``model_fn()`` with the optimizer ``opt_name``; return
    ``(model, history)``, a :class:`course_lib.train.History` as :func:`course_lib.train.fit`
    records it.

    Args:
        model_fn: called once with no arguments; must return a *new* model (e.g.
            ``lambda: mlp(sizes, seed=0)``) so that every run starts from the same, untrained
            point. Its parameters are moved to ``device``.
        opt_name: a key of ``course_lib.optim.RULES``; see :func:`make_optimizer` for
            ``implementation``, ``foreach`` and ``hyperparams``.
        data: a :class:`~course_lib.data.Split` (NumPy arrays, or tensors from
            :func:`to_device`); ``X_train``, ``y_train``, ``X_val``, ``y_val`` are used, and
            must have the dtype of the model's parameters.
        epochs, batch_size: passes over the training set and examples per step.
        seed: seed of the :class:`DeviceLoader` that shuffles the training set: the same seed
            gives every run the same sequence of mini-batches.
        patience, min_delta, monitor, restore_best, callback: early stopping and the
            per-epoch callback, exactly as in :func:`course_lib.train.fit`
            (:class:`course_lib.train.EarlyStopping`); the restored state is the model's
            ``state_dict()``.

    Every step is ``zero_grad``, the mean cross-entropy of the batch, ``backward`` and
    ``step``; the batch losses are summed on the device, so the loop never waits for the
    GPU before the end of the epoch. ``history.epoch_time`` counts the training steps only
    (the device synchronised before and after); the evaluation of the training and the
    validation set after each epoch is not timed.
    """
    device = select_device(device)
    epochs = _validate.integer("epochs", epochs, low=1)
    stopper = EarlyStopping(monitor, patience, min_delta, restore_best)
    check_callback(callback)
    model = model_fn()
    if not isinstance(model, nn.Module):
        _validate.fail(TypeError, "model_fn()", "a torch.nn.Module", model)
    model = model.to(device)
    params = list(model.parameters())
    if not params:
        raise ValueError("the model returned by model_fn has no parameters")
    X_train, y_train, X_val, y_val = (_tensor(getattr(data, f), device, f"data.{f}")
                                      for f in ("X_train", "y_train", "X_val", "y_val"))
    for name, X in (("X_train", X_train), ("X_val", X_val)):
        if X.dtype != params[0].dtype:
            raise TypeError(f"data.{name} has dtype {X.dtype} but the model's parameters are "
                            f"{params[0].dtype}; convert one of them")
    y_train, y_val = y_train.long(), y_val.long()
    optimizer = make_optimizer(opt_name, params, implementation, foreach, **hyperparams)
    loader = DeviceLoader(X_train, y_train, batch_size, device=device, seed=seed)
    history = History()
    steps = 0
    model.train()
    for epoch in range(epochs):
        history.lr.append(float(optimizer.param_groups[0]["lr"]))
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        synchronize(device)
        start = time.perf_counter()
        for xb, yb in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach().double()
            steps += 1
        synchronize(device)
        history.append(epoch_time=time.perf_counter() - start, steps=steps,
                       batch_loss=float(loss_sum) / len(loader))
        train_loss, train_acc = evaluate_torch(model, X_train, y_train)
        val_loss, val_acc = evaluate_torch(model, X_val, y_val)
        history.append(train_loss=train_loss, train_acc=train_acc, val_loss=val_loss,
                       val_acc=val_acc)
        if end_of_epoch(epoch, epochs, history, stopper, lambda: _snapshot(model), callback,
                        model):
            break
    stopper.restore(history, model.load_state_dict)
    return model, history


def _snapshot(model: nn.Module) -> dict:
    """A copy of the model's complete state (``state_dict`` returns live references)."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}
