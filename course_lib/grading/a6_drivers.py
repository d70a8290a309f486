"""The drivers of assignment 6's checks: the code that builds torch models, optimizers and
data for one case and runs the graded function or class on them.

They run twice per case, on the same inputs: in the grader with the reference, and inside
the sandbox with the submission (torch objects cannot travel between the two processes; the
arrays they produce do).  So this module is part of the student view of course_lib
(:mod:`course_lib.grading.student_view`) and holds no reference implementation: only the
test harness, which the notebook's visible checks show anyway.
"""
from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["DRIVERS"]


@contextlib.contextmanager
def _single_thread():
    """Tiny tensors: one thread is fastest, and avoids OpenMP stalls on a busy machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _one_thread(driver):
    def run(*args, **kwargs):
        with _single_thread():
            return driver(*args, **kwargs)

    run.__doc__ = driver.__doc__
    return run


def _small_bn_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 2)
    ).double()


def _state_as_numpy(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _loop_drive(fn, seed, script, max_epochs, patience, min_delta):
    """Run fn on a small batch-norm model whose validation losses follow ``script``; every
    epoch changes the parameters and the running statistics in place."""
    model = _small_bn_model(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    X = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (12,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = {"train": 0, "validate": 0}

    def train_one_epoch(m):
        calls["train"] += 1
        m.train()
        opt.zero_grad()
        F.cross_entropy(m(X + calls["train"]), y).backward()
        opt.step()

    def validate(m):
        if calls["validate"] >= len(script):
            raise RuntimeError(f"validate was called more than max_epochs = {len(script)} times")
        calls["validate"] += 1
        return script[calls["validate"] - 1]

    stop, best, losses = fn(model, train_one_epoch, validate, max_epochs, patience, min_delta)
    return {"epochs": {"stop_epoch": stop, "best_epoch": best, "val_losses": [float(v) for v in losses]},
            "state": _state_as_numpy(model)}


@contextlib.contextmanager
def _no_library_adam():
    """While the submission runs, torch's and course_lib's Adam refuse to step: the graded
    class must compute the update itself rather than delegate to a reference."""
    import torch.optim.adam as adam_module

    def refuse(*args, **kwargs):
        raise RuntimeError("Adam must compute its update itself; it may not call torch.optim.Adam "
                          "(or another library's Adam) inside step()")

    targets = [(adam_module, "adam"), (torch.optim.Adam, "step"), (torch.optim.AdamW, "step")]
    functional = getattr(torch.optim, "_functional", None)
    if functional is not None and hasattr(functional, "adam"):
        targets.append((functional, "adam"))
    try:
        from course_lib import torch_optim
        targets += [(getattr(torch_optim, name), "step") for name in ("Adam", "AdamW", "AMSGrad")
                    if hasattr(torch_optim, name)]
    except Exception:  # noqa: BLE001 - without that module there is nothing to guard
        pass
    # Subclasses that inherit step() are covered by patching the class that defines it.
    saved = [(obj, attr, vars(obj)[attr]) for obj, attr in targets if attr in vars(obj)]
    try:
        for obj, attr, _ in saved:
            setattr(obj, attr, refuse)
        yield
    finally:
        for obj, attr, value in saved:
            setattr(obj, attr, value)


def _adam_model(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    # A parameter outside the graph: it never gets a gradient, and Adam must skip it.
    model.register_parameter("unused", torch.nn.Parameter(torch.ones(2, dtype=torch.float64)))
    return model


def _adam_batches(seed, n):
    gen = torch.Generator().manual_seed(seed + 100)
    return [(torch.randn(8, 4, generator=gen, dtype=torch.float64) * (1 + k % 3),
             torch.randn(8, 3, generator=gen, dtype=torch.float64)) for k in range(n)]


def _train(opt, model, batches):
    out = []
    for xb, yb in batches:
        opt.zero_grad()
        loss = ((model[2](model[1](model[0](xb))) - yb) ** 2).mean()
        loss.backward()
        opt.step()
        out.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy().copy())
    return np.array(out)


def _param_groups(model, groups):
    if groups is None:
        return model.parameters()
    first = [model[0].weight, model[0].bias, model.unused]
    return [dict(groups[0], params=first), dict(groups[1], params=list(model[2].parameters()))]


@contextlib.contextmanager
def _guard(cls):
    if cls is torch.optim.Adam:  # the reference of the checks (refused by the policy in a submission)
        yield
        return
    if isinstance(cls, type) and issubclass(cls, (torch.optim.Adam, torch.optim.AdamW)):
        raise RuntimeError("Adam must subclass torch.optim.Optimizer and implement step() itself, "
                          "not subclass torch.optim.Adam")
    with _no_library_adam():
        yield


def _adam_drive(cls, seed, hp, groups, n_steps):
    model = _adam_model(seed)
    with _guard(cls):
        opt = cls(_param_groups(model, groups), **hp)
        return _train(opt, model, _adam_batches(seed, n_steps))


def _adam_roundtrip_drive(cls, seed, hp, n_first, n_second):
    """Resume a run from a state_dict: the result must equal the uninterrupted run."""
    batches = _adam_batches(seed, n_first + n_second)
    with _guard(cls):
        model_a = _adam_model(seed)
        straight = _train(cls(model_a.parameters(), **hp), model_a, batches)[-1]
        model_b = _adam_model(seed)
        opt_b = cls(model_b.parameters(), **hp)
        _train(opt_b, model_b, batches[:n_first])
        saved = copy.deepcopy(opt_b.state_dict())
        model_c = _adam_model(seed + 1)  # different initial values, overwritten just below
        model_c.load_state_dict(model_b.state_dict())
        opt_c = cls(model_c.parameters(), **hp)
        opt_c.load_state_dict(saved)
        resumed = _train(opt_c, model_c, batches[n_first:])[-1]
    start = torch.cat([p.detach().reshape(-1) for p in _adam_model(seed).parameters()]).numpy()
    return {
        "resumed minus uninterrupted": resumed - straight,
        "parameters moved by the run (1 = yes)": int(np.abs(straight - start).max() > 1e-6),
        "parameters with saved state": len(saved.get("state", {})),
    }


def _epoch_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()


def _epoch_drive(fn, seed, n, batch_size, device, lr, momentum):
    model = _epoch_model(seed)
    model.eval()  # as left by a validation pass: train_epoch must switch to training mode
    gen = torch.Generator().manual_seed(seed + 1)
    X = torch.randn(n, 6, generator=gen, dtype=torch.float64) * 2 + 0.5
    y = torch.randint(0, 3, (n,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss = fn(model, opt, X, y, batch_size, device)
    if isinstance(loss, torch.Tensor):
        raise TypeError("train_epoch must return a Python float (use .item()), not a torch.Tensor")
    return {"loss": loss, "params": {k: v.detach().numpy().copy() for k, v in model.named_parameters()}}


#: driver name -> driver, ``driver(fn, *case.args)``; the sandbox runs them by name
DRIVERS = {
    "es_loop": _one_thread(_loop_drive),
    "adam_steps": _one_thread(_adam_drive),
    "adam_roundtrip": _one_thread(_adam_roundtrip_drive),
    "epoch": _one_thread(_epoch_drive),
}
