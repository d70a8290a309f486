"""Checks for assignment 6, training deep networks: early stopping, an Adam optimizer written
as a ``torch.optim.Optimizer`` subclass, and a device-aware training epoch.

Graded units (the notebook's exact signatures):

- ``early_stopping(val_losses, patience, min_delta=0.0) -> (stop_epoch, best_epoch)``:
  epochs are numbered from 0; epoch e improves when val_losses[e] < best - min_delta (best =
  the loss of the last improving epoch, +inf at the start); training stops at the first epoch
  that completes ``patience`` consecutive epochs without improvement, else at the last epoch.
- ``train_with_early_stopping(model, train_one_epoch, validate, max_epochs, patience,
  min_delta=0.0) -> (stop_epoch, best_epoch, val_losses)``: the same rule online, and the
  model ends with the *complete* state (parameters and buffers such as batch-norm running
  statistics) it had after the best epoch, restored from a deep copy.
- ``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)``: a
  ``torch.optim.Optimizer`` subclass that reproduces ``torch.optim.Adam`` (L2 weight decay
  added to the gradient, per-group hyperparameters, state in ``self.state`` so that
  ``state_dict``/``load_state_dict`` resume a run exactly).
- ``train_epoch(model, optimizer, X, y, batch_size, device) -> float``: one pass over (X, y)
  in order, in mini-batches of ``batch_size`` (the last one may be smaller), cross-entropy
  loss, data moved to ``device`` once; returns the mean loss per example.

Everything is graded on the CPU with small synthetic tensors; nothing downloads.
"""
from __future__ import annotations

import copy
import math

import numpy as np

from .._requires import require_torch

require_torch("Assignment a6 (course_lib.grading.a6_training)")

import torch  # noqa: E402  (after the check: a clear error first)
import torch.nn.functional as F

from .a6_drivers import DRIVERS  # the harness that also runs in the sandbox
from .core import Case, Check, Tolerance, Variant, case_rng, case_seed, make_check, table

__all__ = [
    "CHECKS",
    "FUNCTIONS",
    "VARIANTS",
    "early_stopping",
    "train_with_early_stopping",
    "Adam",
    "train_epoch",
]


#: names the variants use besides np, math and copy; the notebook imports them in its first
#: code cell (``import torch``, ``import torch.nn.functional as F``)
VARIANT_GLOBALS = ("torch", "F")


EXACT = Tolerance(rtol=1e-12, atol=1e-14)

# ----------------------------------------------------------------------------------------
# Reference implementations
# ----------------------------------------------------------------------------------------


def early_stopping(val_losses, patience, min_delta=0.0):
    """When does early stopping stop, and which epoch is best?

    Epoch e (from 0) improves when val_losses[e] < best - min_delta, where best is the loss
    of the last improving epoch (+inf before epoch 0). A counter of consecutive epochs without
    improvement resets on improvement; training stops at the epoch where it reaches
    ``patience``. Returns (stop_epoch, best_epoch); stop_epoch = len(val_losses) - 1 when
    patience never runs out.
    """
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
        raise ValueError(f"patience must be an integer >= 1, got {patience!r}")
    if min_delta < 0:
        raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
    if len(val_losses) == 0:
        raise ValueError("val_losses is empty: give the validation loss of at least one epoch")
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def train_with_early_stopping(model, train_one_epoch, validate, max_epochs, patience, min_delta=0.0):
    """Train with early stopping and restore the best complete state.

    For epoch = 0, 1, ..., max_epochs - 1: call train_one_epoch(model), then
    loss = validate(model); apply the rule of early_stopping online (improvement:
    loss < best - min_delta; stop when patience epochs in a row did not improve). After an
    improving epoch keep a DEEP copy of model.state_dict() (state_dict() returns references to
    the live tensors, which later epochs overwrite in place). At the end, whether patience ran
    out or max_epochs did, load that copy back into the model.

    Returns (stop_epoch, best_epoch, val_losses) with val_losses the list of floats seen.
    """
    best, best_epoch, wait = math.inf, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    val_losses = []
    epoch = -1
    for epoch in range(max_epochs):
        train_one_epoch(model)
        loss = float(validate(model))
        val_losses.append(loss)
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
            if wait >= patience:
                break
    model.load_state_dict(best_state)
    return epoch, best_epoch, val_losses


class Adam(torch.optim.Optimizer):
    """Adam as a torch.optim.Optimizer (the torch.optim.Adam conventions):

        g_t = grad + lambda w_{t-1}                   (L2 weight decay, if lambda > 0)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        w_t = w_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    with t, m and v kept per parameter in self.state, and the hyperparameters read from
    each parameter group.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if not lr >= 0:
            raise ValueError(f"lr must be >= 0, got {lr!r}")
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must both be in [0, 1), got {betas!r}")
        if not eps >= 0 or not weight_decay >= 0:
            raise ValueError(f"eps and weight_decay must be >= 0, got {eps!r} and {weight_decay!r}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
                p.addcdiv_(m, denom, value=-group["lr"] / (1 - beta1**t))
        return loss


def train_epoch(model, optimizer, X, y, batch_size, device):
    """One epoch of mini-batch training on ``device`` ("cpu", "cuda", or a torch.device).

    X, y are moved to the device once; the model and the optimizer are already there. The
    model is put in training mode; for each batch B (in order; the last may be smaller):
    zero the gradients, loss_B = cross_entropy(model(X_B), y_B) (mean over B), backward, step.

    Returns the mean loss per example, sum_B |B| loss_B / N, as a Python float.
    """
    X, y = X.to(device), y.to(device)
    model.train()
    total = torch.zeros((), dtype=torch.float64, device=device)
    n = X.shape[0]
    for start in range(0, n, batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        # Summing on the device avoids one GPU -> CPU synchronisation per batch.
        total += loss.detach().double() * xb.shape[0]
    return total.item() / n


# ----------------------------------------------------------------------------------------
# Known mistakes (each a complete, self-contained function with the graded signature)
# ----------------------------------------------------------------------------------------


def es_patience_off_by_one(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait > patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def es_ignores_min_delta(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def es_ties_improve(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def loop_restores_last(model, train_one_epoch, validate, max_epochs, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    val_losses = []
    epoch = -1
    for epoch in range(max_epochs):
        train_one_epoch(model)
        loss = float(validate(model))
        val_losses.append(loss)
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                break
    return epoch, best_epoch, val_losses


def loop_shallow_copy(model, train_one_epoch, validate, max_epochs, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    best_state = dict(model.state_dict())
    val_losses = []
    epoch = -1
    for epoch in range(max_epochs):
        train_one_epoch(model)
        loss = float(validate(model))
        val_losses.append(loss)
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
            best_state = dict(model.state_dict())
        else:
            wait += 1
            if wait >= patience:
                break
    model.load_state_dict(best_state)
    return epoch, best_epoch, val_losses


def loop_parameters_only(model, train_one_epoch, validate, max_epochs, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    best_params = [p.detach().clone() for p in model.parameters()]
    val_losses = []
    epoch = -1
    for epoch in range(max_epochs):
        train_one_epoch(model)
        loss = float(validate(model))
        val_losses.append(loss)
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
            best_params = [p.detach().clone() for p in model.parameters()]
        else:
            wait += 1
            if wait >= patience:
                break
    for p, saved in zip(model.parameters(), best_params):
        p.data.copy_(saved)
    return epoch, best_epoch, val_losses


def loop_restores_only_on_early_stop(model, train_one_epoch, validate, max_epochs, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    val_losses = []
    for epoch in range(max_epochs):
        train_one_epoch(model)
        loss = float(validate(model))
        val_losses.append(loss)
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
            if wait >= patience:
                model.load_state_dict(best_state)
                return epoch, best_epoch, val_losses
    return max_epochs - 1, best_epoch, val_losses


def loop_patience_off_by_one(model, train_one_epoch, validate, max_epochs, patience, min_delta=0.0):
    best, best_epoch, wait = math.inf, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    val_losses = []
    epoch = -1
    for epoch in range(max_epochs):
        train_one_epoch(model)
        loss = float(validate(model))
        val_losses.append(loss)
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
            if wait > patience:
                break
    model.load_state_dict(best_state)
    return epoch, best_epoch, val_losses


def adam_no_bias_correction(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    class AdamWithoutBiasCorrection(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.add(p, alpha=group["weight_decay"])
                    state = self.state[p]
                    if not state:
                        state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                    state["step"] += 1
                    state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                    state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    p.addcdiv_(state["exp_avg"], state["exp_avg_sq"].sqrt().add_(group["eps"]), value=-group["lr"])

    return AdamWithoutBiasCorrection(params)


def adam_decoupled_decay(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    class AdamWithDecoupledDecay(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    state = self.state[p]
                    if not state:
                        state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                    state["step"] += 1
                    t = state["step"]
                    state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                    state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
                    p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1**t))

    return AdamWithDecoupledDecay(params)


def adam_ignores_groups(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    class AdamWithDefaultsOnly(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

        @torch.no_grad()
        def step(self, closure=None):
            beta1, beta2 = betas
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.add(p, alpha=weight_decay)
                    state = self.state[p]
                    if not state:
                        state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                    state["step"] += 1
                    t = state["step"]
                    state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                    state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**t)).add_(eps)
                    p.addcdiv_(state["exp_avg"], denom, value=-lr / (1 - beta1**t))

    return AdamWithDefaultsOnly(params)


def adam_step_count_on_optimizer(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    class AdamWithSharedCounter(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
            self.t = 0

        @torch.no_grad()
        def step(self, closure=None):
            self.t += 1
            t = self.t
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad.add(p, alpha=group["weight_decay"])
                    state = self.state[p]
                    if not state:
                        state.update(exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                    state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                    state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
                    p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1**t))

    return AdamWithSharedCounter(params)


def epoch_no_zero_grad(model, optimizer, X, y, batch_size, device):
    X, y = X.to(device), y.to(device)
    model.train()
    total, n = 0.0, X.shape[0]
    for start in range(0, n, batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.shape[0]
    return total / n


def epoch_zero_grad_after_backward(model, optimizer, X, y, batch_size, device):
    X, y = X.to(device), y.to(device)
    model.train()
    total, n = 0.0, X.shape[0]
    for start in range(0, n, batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        total += loss.item() * xb.shape[0]
    return total / n


def epoch_mean_of_batch_means(model, optimizer, X, y, batch_size, device):
    X, y = X.to(device), y.to(device)
    model.train()
    losses = []
    for start in range(0, X.shape[0], batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def epoch_no_train_mode(model, optimizer, X, y, batch_size, device):
    X, y = X.to(device), y.to(device)
    total, n = 0.0, X.shape[0]
    for start in range(0, n, batch_size):
        xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.shape[0]
    return total / n


# Not restoring and restoring an aliased snapshot give the same model: one message for both.
_LAST_STATE = (
    "the model ends in the last epoch's state, not the best one: either the best state is never "
    "restored, or the snapshot is a shallow copy of model.state_dict() whose tensors later "
    "epochs overwrite in place (keep a copy.deepcopy of it)"
)

VARIANTS = {
    "early_stopping": [
        Variant("es_patience_off_by_one",
                "patience off by one: it stops after patience + 1 epochs without improvement "
                "(the test must be wait >= patience)",
                es_patience_off_by_one, frozenset({"es_rule"})),
        Variant("es_ignores_min_delta",
                "min_delta is ignored: any decrease counts as an improvement (it must beat "
                "best - min_delta)",
                es_ignores_min_delta, frozenset({"es_rule"})),
        Variant("es_ties_improve",
                "a loss equal to best - min_delta counts as an improvement (<= instead of <)",
                es_ties_improve, frozenset({"es_rule"})),
    ],
    "train_with_early_stopping": [
        Variant("loop_restores_only_on_early_stop",
                "the best state is restored only when patience runs out, not when training "
                "ends at max_epochs",
                loop_restores_only_on_early_stop, frozenset({"es_loop_restore"})),
        Variant("loop_shallow_copy",
                _LAST_STATE,
                loop_shallow_copy, frozenset({"es_loop_restore"})),
        Variant("loop_parameters_only",
                "only the parameters are restored, not the buffers (batch-norm running "
                "statistics): restore the complete model.state_dict()",
                loop_parameters_only, frozenset({"es_loop_restore"})),
        Variant("loop_restores_last",
                _LAST_STATE,
                loop_restores_last, frozenset({"es_loop_restore"})),
        Variant("loop_patience_off_by_one",
                "patience off by one: the loop stops after patience + 1 epochs without "
                "improvement (the test must be wait >= patience)",
                loop_patience_off_by_one, frozenset({"es_loop_epochs"})),
    ],
    "Adam": [
        Variant("adam_no_bias_correction",
                "Adam without bias correction (m and v used directly, no 1 - beta^t factors)",
                adam_no_bias_correction, frozenset({"adam_steps"})),
        Variant("adam_decoupled_decay",
                "weight decay applied as decoupled decay w <- w (1 - lr lambda) (that is AdamW); "
                "torch.optim.Adam adds lambda w to the gradient",
                adam_decoupled_decay, frozenset({"adam_steps"})),
        Variant("adam_ignores_groups",
                "the hyperparameters are the constructor's defaults, not each param_group's "
                "(read lr, betas, eps, weight_decay from group[...])",
                adam_ignores_groups, frozenset({"adam_steps"})),
        Variant("adam_step_count_on_optimizer",
                "the step count t is an attribute of the optimizer (self.t), not per-parameter "
                "state in self.state, so state_dict() does not save it and a resumed run "
                "restarts the bias correction at t = 1",
                adam_step_count_on_optimizer, frozenset({"adam_state_dict"})),
    ],
    "train_epoch": [
        Variant("epoch_no_zero_grad",
                "the gradients are never zeroed, so each step uses the sum of all gradients "
                "so far (call optimizer.zero_grad() before backward)",
                epoch_no_zero_grad, frozenset({"train_epoch_params"})),
        Variant("epoch_zero_grad_after_backward",
                "optimizer.zero_grad() is called between backward() and step(), so every step "
                "sees zero gradients",
                epoch_zero_grad_after_backward, frozenset({"train_epoch_params"})),
        Variant("epoch_mean_of_batch_means",
                "the returned loss is the mean of the batch means; with a smaller last batch "
                "the mean per example weights each batch by its size",
                epoch_mean_of_batch_means, frozenset({"train_epoch_loss"})),
        Variant("epoch_no_train_mode",
                "the model is not put in training mode (model.train()), so batch norm uses its "
                "running statistics instead of the batch's",
                epoch_no_train_mode, frozenset({"train_epoch_params", "train_epoch_loss"})),
    ],
}


# ----------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------


# -- the early-stopping rule


def _es_cases(rows):
    return [Case(f"val_losses={list(losses)}, patience={patience}, min_delta={min_delta}",
                 (list(losses), patience, min_delta)) for losses, patience, min_delta in rows]


def _es_visible():
    return _es_cases([
        ([1.0, 0.8, 0.7, 0.72, 0.71, 0.69, 0.75, 0.76, 0.8], 2, 0.0),
        ([1.0, 0.8, 0.7, 0.72, 0.71, 0.69, 0.75, 0.76, 0.8], 3, 0.0),
        ([1.0, 0.9, 0.88, 0.87, 0.86, 0.7, 0.69], 3, 0.05),
        ([2.0, 1.5, 1.5, 1.5, 1.6, 1.7], 2, 0.0),
    ])


def _es_hidden():
    rng = case_rng(6101)
    rows = [
        ([0.5], 1, 0.0),
        ([1.0, 1.0], 1, 0.0),
        ([1.0, 0.9, 0.8, 0.7], 1, 0.0),
        ([1.0, 1.1, 1.2, 0.5, 0.6, 0.7, 0.8], 3, 0.0),
        ([1.0, 0.95, 0.96, 0.97, 0.2], 3, 0.1),
        ([3.0, 2.5, 2.5, 2.4, 2.4, 2.4, 2.4], 4, 0.0),
        ([1.0, 0.5, 0.25, 0.125], 1, 0.125),
    ]
    for _ in range(6):
        n = int(rng.integers(5, 40))
        losses = np.round(np.exp(-np.arange(n) / 8) + rng.normal(scale=0.05, size=n), 2)
        rows.append(([float(v) for v in losses], int(rng.integers(1, 6)), float(rng.choice([0.0, 0.01, 0.03]))))
    return _es_cases(rows)


check_es_rule, check_es_rule_hidden = make_check(
    "early_stopping", early_stopping, _es_visible, _es_hidden, variants=VARIANTS["early_stopping"])


# -- the training loop with restore


def _loop_cases(rows):
    cases = []
    for seed, script, patience, min_delta in rows:
        cases.append(Case(
            f"validation losses {script}, max_epochs={len(script)}, patience={patience}, min_delta={min_delta}",
            (case_seed(seed), script, len(script), patience, min_delta)))
    return cases


def _loop_visible():
    return _loop_cases([
        (0, [1.0, 0.8, 0.6, 0.7, 0.65, 0.9, 0.5, 0.4], 2, 0.0),
        (1, [1.0, 0.9, 0.7, 0.75, 0.8], 3, 0.0),
    ])


def _loop_hidden():
    rng = case_rng(6201)
    rows = [
        (2, [0.5, 0.6], 1, 0.0),
        (3, [1.0, 0.9, 0.85, 0.84, 0.83, 0.6, 0.9, 0.95, 0.97], 3, 0.05),
        (4, [1.0, 0.5, 0.7, 0.6, 0.8, 0.2, 0.3], 4, 0.0),
        (5, [0.3], 2, 0.0),
    ]
    for seed in range(6, 9):
        n, patience = int(rng.integers(6, 15)), int(rng.integers(1, 4))
        script = [float(v) for v in np.round(np.exp(-np.arange(n) / 4) + rng.normal(scale=0.1, size=n), 2)]
        # The epoch after the stop does not improve either, so that a loop that runs one
        # epoch too long still restores the same best state (its mistake costs one check).
        stop, best = early_stopping(script, patience)
        if stop + 1 < n:
            script[stop + 1] = max(script[stop + 1], script[best] + 0.05)
        rows.append((seed, script, patience, 0.0))
    return _loop_cases(rows)


def _pick(key):
    return lambda out: out[key]


check_es_loop_epochs, check_es_loop_epochs_hidden = make_check(
    "train_with_early_stopping (epochs and losses)", train_with_early_stopping, _loop_visible, _loop_hidden,
    variants=VARIANTS["train_with_early_stopping"], select=_pick("epochs"), driver=DRIVERS["es_loop"], tol=EXACT)
check_es_loop_restore, check_es_loop_restore_hidden = make_check(
    "train_with_early_stopping (restored model state)", train_with_early_stopping, _loop_visible, _loop_hidden,
    variants=VARIANTS["train_with_early_stopping"], select=_pick("state"), driver=DRIVERS["es_loop"], tol=EXACT)


# -- the Adam optimizer class


def _adam_cases(rows):
    return [Case(f"{n} steps on a small float64 MLP, hyperparameters {hp}"
                 + (f", two param groups {groups}" if groups else ""), (case_seed(seed), hp, groups, n))
            for seed, hp, groups, n in rows]


def _adam_visible():
    return _adam_cases([
        (0, {"lr": 0.01}, None, 5),
        (1, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}, None, 10),
    ])


def _adam_hidden():
    return _adam_cases([
        (2, {}, None, 30),
        (3, {"lr": 0.02, "betas": (0.0, 0.9), "eps": 1e-3, "weight_decay": 0.5}, None, 25),
        (4, {"lr": 0.01, "weight_decay": 0.01},
         [{"lr": 0.1, "betas": (0.5, 0.9)}, {"eps": 1e-2, "weight_decay": 0.3}], 20),
    ])


check_adam_steps, check_adam_steps_hidden = make_check(
    "Adam (parameters after each step vs torch.optim.Adam)", torch.optim.Adam, _adam_visible, _adam_hidden,
    variants=VARIANTS["Adam"], driver=DRIVERS["adam_steps"], tol=EXACT)


def _roundtrip_cases(rows):
    return [Case(f"{n1} steps, state_dict saved and loaded into a new optimizer, {n2} more steps; {hp}",
                 (case_seed(seed), hp, n1, n2)) for seed, hp, n1, n2 in rows]


check_adam_state_dict, check_adam_state_dict_hidden = make_check(
    "Adam (state_dict round trip)", torch.optim.Adam,
    lambda: _roundtrip_cases([(10, {"lr": 0.01}, 3, 3)]),
    lambda: _roundtrip_cases([(11, {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.1}, 1, 6),
                              (12, {"lr": 0.002}, 8, 4)]),
    variants=VARIANTS["Adam"], driver=DRIVERS["adam_roundtrip"], tol=Tolerance(rtol=0.0, atol=1e-13))


# -- the training epoch


def _epoch_cases(rows):
    return [Case(f"N={n} examples, batch_size={bs}, device={dev!r}, SGD(lr={lr}, momentum={mom})",
                 (case_seed(seed), n, bs, dev, lr, mom)) for seed, n, bs, dev, lr, mom in rows]


def _epoch_visible(lr, momentum):
    return lambda: _epoch_cases([(0, 20, 8, "cpu", lr, momentum)])


def _epoch_hidden(lr, momentum):
    return lambda: _epoch_cases([(1, 50, 16, torch.device("cpu"), lr, momentum), (2, 9, 9, "cpu", lr, momentum),
                                 (3, 31, 4, "cpu", lr, 0.0)])


check_train_epoch_params, check_train_epoch_params_hidden = make_check(
    "train_epoch (parameters after the epoch)", train_epoch, _epoch_visible(0.1, 0.9), _epoch_hidden(0.1, 0.9),
    variants=VARIANTS["train_epoch"], driver=DRIVERS["epoch"], select=_pick("params"),
    tol=Tolerance(rtol=1e-10, atol=1e-12))
# lr = 0 keeps the parameters fixed, so the returned loss is graded on its own.
check_train_epoch_loss, check_train_epoch_loss_hidden = make_check(
    "train_epoch (returned mean loss)", train_epoch, _epoch_visible(0.0, 0.0), _epoch_hidden(0.0, 0.0),
    variants=VARIANTS["train_epoch"], driver=DRIVERS["epoch"], select=_pick("loss"),
    tol=Tolerance(rtol=1e-10, atol=1e-12))


# ----------------------------------------------------------------------------- the graded parts

#: every graded part, in the order of the notebook (its id is the grade_id of the test cell)
GRADED = [
    Check("es_rule", 2, "early_stopping", check_es_rule, check_es_rule_hidden),
    Check("es_loop_epochs", 2, "train_with_early_stopping", check_es_loop_epochs, check_es_loop_epochs_hidden),
    Check("es_loop_restore", 3, "train_with_early_stopping", check_es_loop_restore, check_es_loop_restore_hidden),
    Check("adam_steps", 4, "Adam", check_adam_steps, check_adam_steps_hidden),
    Check("adam_state_dict", 2, "Adam", check_adam_state_dict, check_adam_state_dict_hidden),
    Check("train_epoch_params", 2, "train_epoch", check_train_epoch_params, check_train_epoch_params_hidden),
    Check("train_epoch_loss", 2, "train_epoch", check_train_epoch_loss, check_train_epoch_loss_hidden),
]
CHECKS, FUNCTIONS = table(GRADED)
