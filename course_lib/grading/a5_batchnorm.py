"""Checks for assignment 5, batch normalization and layer normalization.

Graded functions (the notebook's exact signatures; x is a mini-batch of shape (B, D)).
Notation of chapter 11: mu, sigma^2 the batch mean and (biased) variance of each column,
s = sqrt(sigma^2 + eps), bar mu and bar sigma^2 the running averages, phi = ``momentum``.

- ``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)``. Train mode normalises
  with the batch mean and the *biased* batch variance,
  x_hat = (x - mu) / sqrt(sigma^2 + eps), out = gamma x_hat + beta, and replaces
  ``bn_param["running_mean"]``/``["running_var"]`` (bar mu, bar sigma^2) by (torch's
  convention) running <- (1 - phi) running + phi * batch statistic, using the *unbiased*
  variance B / (B - 1) sigma^2 for the running variance (zeros/ones when missing).
  Eval mode normalises with the running statistics and leaves them unchanged.
  ``cache`` is the dict ``{"x_hat", "gamma", "std"}`` with std = s = sqrt(sigma^2 + eps).
- ``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` (train mode, full derivation):
  dx = (1 / s) (dx_hat - mean_batch(dx_hat) - x_hat mean_batch(dx_hat x_hat)),
  dx_hat = dout gamma.
- ``layernorm_forward(x, gamma, beta, ln_param)`` / ``layernorm_backward(dout, cache)``: the
  same per example (over the feature axis), no running statistics.

Because the cache format is fixed, the backward checks feed the student's backward with
caches made by the reference forward: a mistake in the forward pass does not cost the
backward checks.
"""
from __future__ import annotations

import numpy as np

from .core import Case, Check, Tolerance, Variant, case_rng, combine, make_check, table

__all__ = [
    "CHECKS",
    "FUNCTIONS",
    "VARIANTS",
    "batchnorm_forward",
    "batchnorm_backward",
    "layernorm_forward",
    "layernorm_backward",
]


F64 = Tolerance(rtol=1e-7, atol=1e-10)
F32 = Tolerance(rtol=1e-4, atol=1e-5)

# ----------------------------------------------------------------------------------------
# Reference implementations
# ----------------------------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization forward pass for x of shape (B, D).

    train:  mu = mean_i x_i,  sigma^2 = mean_i (x_i - mu)^2          (biased)
            x_hat = (x - mu) / sqrt(sigma^2 + eps),  out = gamma * x_hat + beta
            running_mean <- (1 - momentum) running_mean + momentum mu
            running_var  <- (1 - momentum) running_var  + momentum B / (B - 1) sigma^2
    eval:   x_hat = (x - running_mean) / sqrt(running_var + eps); running stats unchanged.

    bn_param: dict with "mode" ("train" or "eval"), optional "eps" (1e-5), "momentum" (0.1),
    "running_mean" (zeros), "running_var" (ones). Train mode stores NEW running arrays in
    bn_param (the old arrays are not modified). Returns (out, cache) with
    cache = {"x_hat": x_hat, "gamma": gamma, "std": sqrt(sigma^2 + eps)}.
    """
    mode = bn_param.get("mode")
    if mode not in ("train", "eval"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'eval', got {mode!r}")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if mode == "train":
        if n < 2:
            raise ValueError("batchnorm_forward in train mode needs at least 2 examples (B >= 2)")
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalization in train mode.

        dbeta  = sum_i dout_i
        dgamma = sum_i dout_i * x_hat_i
        dx_hat = dout * gamma
        dx     = (dx_hat - mean_i dx_hat_i - x_hat * mean_i (dx_hat_i * x_hat_i)) / std

    (the two mean terms are the gradient flowing through mu and sigma^2).
    cache: {"x_hat", "gamma", "std"} from batchnorm_forward. Returns (dx, dgamma, dbeta).
    """
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization forward pass for x of shape (B, D): each example (row) is
    normalised over its D features, the same in training and evaluation.

        mu_i = mean_j x_ij,  sigma_i^2 = mean_j (x_ij - mu_i)^2          (biased)
        x_hat_ij = (x_ij - mu_i) / sqrt(sigma_i^2 + eps),  out = gamma * x_hat + beta

    ln_param: dict with optional "eps" (1e-5). Returns (out, cache) with
    cache = {"x_hat": x_hat, "gamma": gamma, "std": sqrt(sigma_i^2 + eps) of shape (B, 1)}.
    """
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    std = np.sqrt((xc * xc).mean(axis=1, keepdims=True) + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def layernorm_backward(dout, cache):
    """Backward pass of layer normalization: the batch-norm formula with the means taken
    over the feature axis j of each example, while dgamma, dbeta still sum over examples.

        dx_hat = dout * gamma
        dx     = (dx_hat - mean_j dx_hat - x_hat * mean_j (dx_hat * x_hat)) / std
        dgamma = sum_i dout_i * x_hat_i,   dbeta = sum_i dout_i

    Returns (dx, dgamma, dbeta).
    """
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=1, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


# ----------------------------------------------------------------------------------------
# Known mistakes (each a complete, self-contained function with the graded signature)
# ----------------------------------------------------------------------------------------


def bn_biased_running_var(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_unbiased_normalisation(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = x.var(axis=0, ddof=1)
        std = np.sqrt(var + eps)
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_unbiased_twice(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = x.var(axis=0, ddof=1)
        std = np.sqrt(var + eps)
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_eps_outside_sqrt(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var) + eps
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    else:
        xc = x - running_mean
        std = np.sqrt(running_var) + eps
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_float64(x, gamma, beta, bn_param):
    x, gamma, beta = (np.asarray(a, dtype=float) for a in (x, gamma, beta))
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = np.asarray(bn_param.get("running_mean", np.zeros(d)), dtype=float)
    running_var = np.asarray(bn_param.get("running_var", np.ones(d)), dtype=float)
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_running_in_place(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.setdefault("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.ones(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        running_mean *= 1 - momentum
        running_mean += momentum * mu
        running_var *= 1 - momentum
        running_var += momentum * (var * (n / (n - 1)))
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_momentum_flipped(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    if bn_param["mode"] == "train":
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * (var * (n / (n - 1)))
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_eval_updates_running(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    if bn_param["mode"] == "train":
        xc = x - mu
        std = np.sqrt(var + eps)
    else:
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
    bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
    bn_param["running_var"] = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_eval_uses_batch_stats(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(d, dtype=x.dtype))
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc * xc).mean(axis=0)
    std = np.sqrt(var + eps)
    if bn_param["mode"] == "train":
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def bn_backward_constant_stats(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dx = dout * gamma / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def bn_backward_mean_term_only(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def bn_backward_feature_axis(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=1, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def bn_backward_no_gamma(dout, cache):
    x_hat, std = cache["x_hat"], cache["std"]
    dx = (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def bn_backward_mean_params(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, (dout * x_hat).mean(axis=0), dout.mean(axis=0)


def ln_batch_axis(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=0, keepdims=True)
    xc = x - mu
    std = np.sqrt((xc * xc).mean(axis=0, keepdims=True) + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def ln_unbiased_variance(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    std = np.sqrt(x.var(axis=1, ddof=1, keepdims=True) + eps)
    x_hat = xc / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def ln_backward_constant_stats(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    return dout * gamma / std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def ln_backward_batch_axis(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


VARIANTS = {
    "batchnorm_forward": [
        Variant(
            "bn_biased_running_var",
            "the running variance is updated with the biased batch variance; torch uses the "
            "unbiased one, B / (B - 1) * sigma^2",
            bn_biased_running_var,
            frozenset({"bn_running_stats"}),
        ),
        Variant(
            "bn_unbiased_normalisation",
            "the batch is normalised with the unbiased variance (ddof=1); the normalisation "
            "uses the biased variance, only the running variance uses the unbiased one",
            bn_unbiased_normalisation,
            frozenset({"bn_train_forward"}),
        ),
        Variant(
            "bn_unbiased_twice",
            "the unbiased variance (ddof=1) is used to normalise the batch, and corrected by "
            "B / (B - 1) once more for the running variance; normalise with the biased "
            "variance, and correct it once for the running one",
            bn_unbiased_twice,
            frozenset({"bn_train_forward", "bn_running_stats"}),
        ),
        Variant(
            "bn_eps_outside_sqrt",
            "epsilon is added outside the square root, sqrt(sigma^2) + eps; it belongs inside, "
            "sqrt(sigma^2 + eps)",
            bn_eps_outside_sqrt,
            frozenset({"bn_train_forward", "bn_eval_forward"}),
        ),
        Variant(
            "bn_float64",
            "the inputs are converted with np.asarray(..., dtype=float): the values are right, "
            "but a float32 batch comes back as float64",
            bn_float64,
            frozenset({"bn_contract"}),
        ),
        Variant(
            "bn_running_in_place",
            "the running statistics are updated in place (running_mean *= ...): the caller's "
            "old arrays change too; store new arrays in bn_param instead",
            bn_running_in_place,
            frozenset({"bn_contract"}),
        ),
        Variant(
            "bn_momentum_flipped",
            "momentum convention flipped: running = momentum * running + (1 - momentum) * batch; "
            "torch's is running = (1 - momentum) * running + momentum * batch",
            bn_momentum_flipped,
            frozenset({"bn_running_stats"}),
        ),
        Variant(
            "bn_eval_updates_running",
            "the running statistics are updated in eval mode too; they must change only in train mode",
            bn_eval_updates_running,
            frozenset({"bn_eval_forward"}),
        ),
        Variant(
            "bn_eval_uses_batch_stats",
            "eval mode normalises with the batch statistics instead of the running ones",
            bn_eval_uses_batch_stats,
            frozenset({"bn_eval_forward"}),
        ),
    ],
    "batchnorm_backward": [
        Variant(
            "bn_backward_constant_stats",
            "dx treats the batch mean and variance as constants (dx = dout * gamma / std); "
            "they depend on x, which adds two mean terms",
            bn_backward_constant_stats,
            frozenset({"bn_backward_dx"}),
        ),
        Variant(
            "bn_backward_mean_term_only",
            "dx has the term from the batch mean but misses the one from the batch variance "
            "(- x_hat * mean(dx_hat * x_hat))",
            bn_backward_mean_term_only,
            frozenset({"bn_backward_dx"}),
        ),
        Variant(
            "bn_backward_feature_axis",
            "the means in dx are taken over the features (axis 1, layer norm's formula); for "
            "batch norm they are over the batch (axis 0)",
            bn_backward_feature_axis,
            frozenset({"bn_backward_dx"}),
        ),
        Variant(
            "bn_backward_no_gamma",
            "dx forgets gamma: the gradient reaching x_hat is dout * gamma, not dout",
            bn_backward_no_gamma,
            frozenset({"bn_backward_dx"}),
        ),
        Variant(
            "bn_backward_mean_params",
            "dgamma and dbeta average over the batch; they are sums over the batch",
            bn_backward_mean_params,
            frozenset({"bn_backward_params"}),
        ),
    ],
    "layernorm_forward": [
        Variant(
            "ln_batch_axis",
            "layer norm normalises over the batch axis (that is batch norm); it normalises "
            "each example over its features (axis 1)",
            ln_batch_axis,
            frozenset({"ln_forward", "ln_contract"}),  # its cache's std has shape (1, D), not (B, 1)
        ),
        Variant(
            "ln_unbiased_variance",
            "layer norm uses the unbiased variance (ddof=1); it uses the biased one",
            ln_unbiased_variance,
            frozenset({"ln_forward"}),
        ),
    ],
    "layernorm_backward": [
        Variant(
            "ln_backward_constant_stats",
            "dx treats each example's mean and variance as constants (dx = dout * gamma / std)",
            ln_backward_constant_stats,
            frozenset({"ln_backward"}),
        ),
        Variant(
            "ln_backward_batch_axis",
            "the mean terms of dx are taken over the batch axis (batch norm's formula); for "
            "layer norm they are over the features of each example (axis 1, keepdims)",
            ln_backward_batch_axis,
            frozenset({"ln_backward"}),
        ),
    ],
}


# ----------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------


def _data(rng, n, d, dtype=np.float64, shift=True):
    # Features with different means and scales, as activations have.
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d)
    if shift:
        x = x + rng.uniform(-4, 4, size=d)
    gamma = rng.uniform(0.5, 2.0, size=d)
    beta = rng.normal(size=d)
    return x.astype(dtype), gamma.astype(dtype), beta.astype(dtype)


def _bn_drive(fn, x, gamma, beta, bn_param):
    """Call the forward pass and return what the checks grade, including the running
    statistics it left in bn_param."""
    out, cache = fn(x, gamma, beta, bn_param)
    # Missing running statistics read as their initial values (zeros and ones).
    d = x.shape[1]
    return {"out": out, "cache": cache,
            "running_mean": bn_param.get("running_mean", np.zeros(d, dtype=x.dtype)),
            "running_var": bn_param.get("running_var", np.ones(d, dtype=x.dtype))}


def _pick_train(res):
    cache = res["cache"]
    return {"out": res["out"], "cache['x_hat']": cache["x_hat"], "cache['std']": cache["std"]}


def _pick_running(res):
    return {"running_mean": res["running_mean"], "running_var": res["running_var"]}


def _pick_eval(res):
    return {"out": res["out"], "running_mean": res["running_mean"], "running_var": res["running_var"]}


def _bn_param(mode, rng=None, d=None, dtype=np.float64, **extra):
    p = {"mode": mode, **extra}
    if rng is not None:
        p["running_mean"] = rng.normal(size=d).astype(dtype)
        p["running_var"] = rng.uniform(0.5, 2.0, size=d).astype(dtype)
    return p


def _fmt(p):
    shown = {k: v for k, v in p.items() if not isinstance(v, np.ndarray)}
    has = [k for k, v in p.items() if isinstance(v, np.ndarray)]
    return f"bn_param={shown}" + (f" with given {', '.join(has)}" if has else "")


def _train_visible():
    x = np.array([[1.0, 2.0, -1.0], [3.0, 0.0, 0.5], [2.0, -2.0, 4.0], [0.0, 1.0, 2.5]])
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 0.3])
    rng = case_rng(50)
    p1 = {"mode": "train"}
    p2 = _bn_param("train", rng, 3, momentum=0.3, eps=1e-3)
    return [Case(f"x of shape (4, 3), {_fmt(p1)}", (x, gamma, beta, p1)),
            Case(f"x of shape (4, 3), {_fmt(p2)}", (x, gamma, beta, p2))]


def _train_hidden(dtype_cases=True):
    rng = case_rng(5101)
    cases = []
    for n, d, extra, given in [(2, 1, {}, False), (5, 4, {"momentum": 0.5}, True),
                               (32, 7, {"eps": 1e-2, "momentum": 0.01}, True), (3, 10, {}, False),
                               (64, 3, {"momentum": 1.0}, True)]:
        x, gamma, beta = _data(rng, n, d)
        p = _bn_param("train", rng if given else None, d, **extra)
        cases.append(Case(f"x of shape {x.shape}, {_fmt(p)}", (x, gamma, beta, p)))
    return cases


def _float32_train():
    rng = case_rng(5102)
    x, gamma, beta = _data(rng, 16, 5, np.float32)
    p = _bn_param("train", rng, 5, np.float32, momentum=0.2)
    return [Case(f"float32 x of shape {x.shape}, {_fmt(p)}", (x, gamma, beta, p))]


def _eval_visible():
    x = np.array([[1.0, 2.0, -1.0], [3.0, 0.0, 0.5], [2.0, -2.0, 4.0]])
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 0.3])
    p = {"mode": "eval", "running_mean": np.array([0.5, 0.0, 1.0]), "running_var": np.array([2.0, 1.0, 4.0])}
    return [Case(f"x of shape (3, 3), {_fmt(p)}", (x, gamma, beta, p))]


def _eval_hidden():
    rng = case_rng(5103)
    cases = []
    for n, d, extra in [(1, 3, {}), (6, 4, {"eps": 1e-2}), (20, 2, {"momentum": 0.5})]:
        x, gamma, beta = _data(rng, n, d)
        p = _bn_param("eval", rng, d, **extra)
        cases.append(Case(f"x of shape {x.shape}, {_fmt(p)}", (x, gamma, beta, p)))
    x, gamma, beta = _data(rng, 4, 3)
    p = {"mode": "eval"}
    cases.append(Case(f"x of shape {x.shape}, {_fmt(p)} (no running statistics yet: zeros and ones)",
                      (x, gamma, beta, p)))
    return cases


def _float32_eval():
    rng = case_rng(5104)
    x, gamma, beta = _data(rng, 6, 3, np.float32)
    p = _bn_param("eval", rng, 3, np.float32)
    return [Case(f"float32 x of shape {x.shape}, {_fmt(p)}", (x, gamma, beta, p))]


def _forward_check(label, select, visible, hidden, float32):
    # float32 values at float32's tolerance; the dtype is the contract check's (a float64
    # result costs that one part, not every part)
    kw = dict(variants=VARIANTS["batchnorm_forward"], select=select, driver=_bn_drive)
    return combine(
        make_check(label, batchnorm_forward, visible, hidden, tol=F64, **kw),
        make_check(label, batchnorm_forward, (), float32, tol=F32, **kw),
    )


def _bn_contract_drive(fn, x, gamma, beta, bn_param):
    """The forward pass's contract: its outputs, cache and new running arrays keep the dtype
    of x, and it modifies none of its inputs in place: not x, gamma or beta, and not the
    old running arrays (it stores new ones in bn_param)."""
    inputs = {"x": x, "gamma": gamma, "beta": beta,
              **{k: bn_param[k] for k in ("running_mean", "running_var") if k in bn_param}}
    kept = {k: v.copy() for k, v in inputs.items()}
    res = _bn_drive(fn, x, gamma, beta, bn_param)
    changed = sorted(k for k in inputs if not np.array_equal(inputs[k], kept[k], equal_nan=True))
    return {**_pick_eval(res), "cache['x_hat']": res["cache"]["x_hat"], "cache['std']": res["cache"]["std"],
            "inputs changed in place (0 = none)": len(changed)}


def _contract_cases(seed):
    rng = case_rng(seed)
    cases = []
    for mode, dtype in (("train", np.float32), ("eval", np.float32), ("train", np.float64)):
        x, gamma, beta = _data(rng, 8, 3, dtype)
        p = _bn_param(mode, rng, 3, dtype, momentum=0.2)
        cases.append(Case(f"{np.dtype(dtype).name} x of shape {x.shape}, {_fmt(p)}", (x, gamma, beta, p)))
    return cases


check_bn_contract, check_bn_contract_hidden = make_check(
    "batchnorm_forward (dtype kept, inputs and old running arrays unchanged)", batchnorm_forward,
    lambda: _contract_cases(5501)[:1], lambda: _contract_cases(5502), variants=VARIANTS["batchnorm_forward"],
    driver=_bn_contract_drive, check_dtype=True, values=False)


check_bn_train_forward, check_bn_train_forward_hidden = _forward_check(
    "batchnorm_forward (train mode: out and cache)", _pick_train, _train_visible, _train_hidden, _float32_train)
check_bn_running_stats, check_bn_running_stats_hidden = _forward_check(
    "batchnorm_forward (train mode: running statistics)", _pick_running, _train_visible, _train_hidden,
    _float32_train)
check_bn_eval_forward, check_bn_eval_forward_hidden = _forward_check(
    "batchnorm_forward (eval mode)", _pick_eval, _eval_visible, _eval_hidden, _float32_eval)


# Backward checks: the cache comes from the reference forward pass (its format is fixed by
# the assignment), so they grade the backward pass alone.


def _backward_drive(fn, forward, x, gamma, beta, param, dout):
    _, cache = forward(x, gamma, beta, param)
    return fn(dout, cache)


def _bn_backward_drive(fn, x, gamma, beta, dout, eps=1e-5):
    return _backward_drive(fn, batchnorm_forward, x, gamma, beta, {"mode": "train", "eps": eps}, dout)


def _ln_backward_drive(fn, x, gamma, beta, dout, eps=1e-5):
    return _backward_drive(fn, layernorm_forward, x, gamma, beta, {"eps": eps}, dout)


def _backward_cases(seed, shapes, dtype=np.float64):
    rng = case_rng(seed)
    cases = []
    for n, d, eps in shapes:
        x, gamma, beta = _data(rng, n, d, dtype)
        dout = rng.normal(size=(n, d)).astype(dtype)
        cases.append(Case(f"{np.dtype(dtype).name} x and dout of shape {(n, d)}, eps={eps:g}",
                          (x, gamma, beta, dout), {"eps": eps}))
    return cases


def _backward_check(label, reference, drive, variants, select, seed):
    kw = dict(variants=variants, select=select, driver=drive)
    return combine(
        make_check(label, reference, lambda: _backward_cases(seed, [(4, 3, 1e-5)]),
                   lambda: _backward_cases(seed + 1, [(2, 2, 1e-5), (7, 5, 1e-2), (30, 4, 1e-5), (3, 9, 1e-5)]),
                   tol=F64, **kw),
        make_check(label, reference, (), lambda: _backward_cases(seed + 2, [(8, 6, 1e-5)], np.float32),
                   tol=F32, **kw),  # values only: the dtype is the contract check's
    )


def _pick_dx(out):
    return out[0]


def _pick_params(out):
    return {"dgamma": out[1], "dbeta": out[2]}


check_bn_backward_dx, check_bn_backward_dx_hidden = _backward_check(
    "batchnorm_backward (dx)", batchnorm_backward, _bn_backward_drive, VARIANTS["batchnorm_backward"],
    _pick_dx, 5201)
check_bn_backward_params, check_bn_backward_params_hidden = _backward_check(
    "batchnorm_backward (dgamma, dbeta)", batchnorm_backward, _bn_backward_drive,
    VARIANTS["batchnorm_backward"], _pick_params, 5211)
def _contract_pairs(seed, shapes):
    """float32 and float64 cases of the same shapes (the contract is the same in both)."""
    return _backward_cases(seed, shapes, np.float32) + _backward_cases(seed + 1, shapes)


check_bn_backward_contract, check_bn_backward_contract_hidden = make_check(
    "batchnorm_backward (dtype kept, inputs unchanged)", batchnorm_backward,
    lambda: _backward_cases(5221, [(6, 3, 1e-5)], np.float32), lambda: _contract_pairs(5222, [(5, 4, 1e-5)]),
    variants=VARIANTS["batchnorm_backward"], driver=_bn_backward_drive, check_dtype=True, no_mutation=True,
    values=False)
check_ln_backward, check_ln_backward_hidden = _backward_check(
    "layernorm_backward", layernorm_backward, _ln_backward_drive, VARIANTS["layernorm_backward"],
    lambda out: {"dx": out[0], "dgamma": out[1], "dbeta": out[2]}, 5301)


def _ln_cases(seed, shapes, dtype=np.float64):
    rng = case_rng(seed)
    cases = []
    for n, d, param in shapes:
        x, gamma, beta = _data(rng, n, d, dtype)
        cases.append(Case(f"{np.dtype(dtype).name} x of shape {(n, d)}, ln_param={param}", (x, gamma, beta, param)))
    return cases


def _pick_ln(out):
    return {"out": out[0], "cache['x_hat']": out[1]["x_hat"], "cache['std']": out[1]["std"]}


check_ln_forward, check_ln_forward_hidden = combine(
    make_check("layernorm_forward", layernorm_forward,
               lambda: _ln_cases(5401, [(4, 3, {})]),
               lambda: _ln_cases(5402, [(1, 5, {}), (6, 2, {"eps": 1e-2}), (20, 8, {}), (3, 30, {})]),
               tol=F64, variants=VARIANTS["layernorm_forward"], select=_pick_ln),
    make_check("layernorm_forward", layernorm_forward, (),
               lambda: _ln_cases(5403, [(5, 6, {})], np.float32),
               tol=F32, variants=VARIANTS["layernorm_forward"], select=_pick_ln),  # values only
)
check_ln_contract, check_ln_contract_hidden = make_check(
    "layernorm_forward (dtype kept, inputs unchanged)", layernorm_forward,
    lambda: _ln_cases(5411, [(4, 5, {})], np.float32),
    lambda: _ln_cases(5412, [(3, 6, {})], np.float32) + _ln_cases(5413, [(3, 6, {"eps": 1e-3})]),
    variants=VARIANTS["layernorm_forward"], select=_pick_ln, check_dtype=True, no_mutation=True, values=False)


# ----------------------------------------------------------------------------- the graded parts

#: every graded part, in the order of the notebook (its id is the grade_id of the test cell)
GRADED = [
    Check("bn_train_forward", 2, "batchnorm_forward", check_bn_train_forward, check_bn_train_forward_hidden),
    Check("bn_running_stats", 2, "batchnorm_forward", check_bn_running_stats, check_bn_running_stats_hidden),
    Check("bn_eval_forward", 2, "batchnorm_forward", check_bn_eval_forward, check_bn_eval_forward_hidden),
    Check("bn_contract", 1, "batchnorm_forward", check_bn_contract, check_bn_contract_hidden),
    Check("bn_backward_dx", 2, "batchnorm_backward", check_bn_backward_dx, check_bn_backward_dx_hidden),
    Check("bn_backward_params", 1, "batchnorm_backward", check_bn_backward_params, check_bn_backward_params_hidden),
    Check("bn_backward_contract", 1, "batchnorm_backward", check_bn_backward_contract,
          check_bn_backward_contract_hidden),
    Check("ln_forward", 1, "layernorm_forward", check_ln_forward, check_ln_forward_hidden),
    Check("ln_contract", 1, "layernorm_forward", check_ln_contract, check_ln_contract_hidden),
    Check("ln_backward", 2, "layernorm_backward", check_ln_backward, check_ln_backward_hidden),
]
CHECKS, FUNCTIONS = table(GRADED)
