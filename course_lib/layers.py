r"""Forward and backward passes of the layers of a small fully connected network.

Every layer comes as a pair in the CS231n style::

    out, cache = layer_forward(inputs..., params)
    d_inputs... = layer_backward(dout, cache)

``dout`` is the upstream gradient dL/d(out) of a scalar loss L and the backward function
returns dL/d(input) for every input, using only what the forward pass stored in ``cache``.

Notation (rows are examples, as in the book): a mini-batch ``x`` has shape (B, D), ``B``
examples with ``D`` features (or units); ``x_i`` is row i. Reductions written as
:math:`\sum_i` run over the batch and :math:`\sum_j` over the features.

The functions are pure: they never modify their array arguments, and float32 inputs give
float32 outputs (float64 gives float64). The one documented exception is
:func:`batchnorm_forward` in training mode, which *replaces* the running statistics stored in
its ``bn_param`` dict (the old arrays themselves are left untouched).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "softmax_loss",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "layernorm_forward",
    "layernorm_backward",
    "dropout_forward",
    "dropout_backward",
]


# --------------------------------------------------------------------------- checks
def _as_float_array(name, a):
    a = np.asarray(a)
    if a.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array (float32 or float64), got dtype {a.dtype}")
    return a


def _check_same_dtype(**arrays):
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listing = ", ".join(f"{k}={v}" for k, v in dtypes.items())
        raise TypeError(f"all arrays must share one dtype (float32 or float64), got {listing}")


def _check_2d(name, x, shape="(B, D)"):
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape {shape}, got shape {x.shape}")


def _check_vector(name, v, d):
    if v.shape != (d,):
        raise ValueError(f"{name} must have shape ({d},) to match D={d}, got shape {v.shape}")


def _check_dout(dout, shape):
    dout = np.asarray(dout)
    if dout.shape != shape:
        raise ValueError(f"dout must have the shape of the forward output {shape}, got {dout.shape}")
    return dout


# --------------------------------------------------------------------------- affine
def affine_forward(x, w, b):
    r"""Affine (fully connected) layer.

    .. math:: \text{out} = x\,W + b, \qquad x \in \mathbb{R}^{B\times D},\;
              W \in \mathbb{R}^{D\times M},\; b \in \mathbb{R}^{M}.

    An input of shape (B, d_1, ..., d_k) is flattened to (B, D) with D = d_1 ... d_k.

    Returns ``(out, cache)`` with ``out`` of shape (B, M).
    """
    x = _as_float_array("x", x)
    w = _as_float_array("w", w)
    b = _as_float_array("b", b)
    _check_same_dtype(x=x, w=w, b=b)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (B, D) or (B, d_1, ..., d_k), got shape {x.shape}")
    if w.ndim != 2:
        raise ValueError(f"w must have shape (D, M), got shape {w.shape}")
    x2 = x.reshape(x.shape[0], -1)
    if x2.shape[1] != w.shape[0]:
        raise ValueError(
            f"x has D={x2.shape[1]} features per example but w has shape {w.shape}; need w.shape[0] == D"
        )
    _check_vector("b", b, w.shape[1])
    out = x2 @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    r"""Backward pass of :func:`affine_forward`.

    .. math:: \frac{\partial L}{\partial x} = \text{dout}\,W^\top,\quad
              \frac{\partial L}{\partial W} = x^\top\,\text{dout},\quad
              \frac{\partial L}{\partial b} = \sum_i \text{dout}_i .

    ``dx`` has the shape of the original ``x`` (unflattened). Returns ``(dx, dw, db)``.
    """
    x, w = cache
    dout = _check_dout(dout, (x.shape[0], w.shape[1]))
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# --------------------------------------------------------------------------- relu
def relu_forward(x):
    r"""Rectified linear unit, elementwise: :math:`\text{out} = \max(0, x)`.

    Returns ``(out, cache)``.
    """
    x = _as_float_array("x", x)
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    r"""Backward pass of :func:`relu_forward`:
    :math:`\partial L/\partial x = \text{dout}\cdot\mathbb{1}[x > 0]`
    (the subgradient 0 is used at x = 0, as PyTorch does).
    """
    x = cache
    dout = _check_dout(dout, x.shape)
    return np.where(x > 0, dout, 0).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- softmax
def softmax_loss(scores, y):
    r"""Mean softmax cross-entropy loss and its gradient with respect to the scores.

    For the scores :math:`s \in \mathbb{R}^{B\times C}` of B examples and integer labels
    :math:`y_i \in \{0, \dots, C-1\}`:

    .. math:: p_{ic} = \frac{e^{s_{ic}}}{\sum_k e^{s_{ik}}}, \qquad
              L = -\frac{1}{B}\sum_i \log p_{i y_i}, \qquad
              \frac{\partial L}{\partial s_{ic}} = \frac{1}{B}\left(p_{ic} - \mathbb{1}[c = y_i]\right).

    The log-sum-exp is evaluated after subtracting each row's maximum, which leaves
    :math:`p` unchanged and keeps every exponent <= 0 (no overflow). Matches
    ``torch.nn.functional.cross_entropy(scores, y)`` (mean reduction).

    Returns ``(loss, dscores)``: a Python float and an array like ``scores``.
    """
    scores = _as_float_array("scores", scores)
    _check_2d("scores", scores, "(B, C)")
    y = np.asarray(y)
    n, c = scores.shape
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y must have shape (B,) = ({n},) to match scores {scores.shape}, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if n == 0:
        raise ValueError("scores must contain at least one example (B >= 1)")
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"labels y must lie in [0, {c - 1}] for C={c} classes, got range [{y.min()}, {y.max()}]")
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(n)
    loss = -log_p[rows, y].mean()
    dscores = np.exp(log_p)
    dscores[rows, y] -= 1
    dscores /= n
    return float(loss), dscores


# --------------------------------------------------------------------------- batch norm
_BN_MODES = ("train", "eval")


def batchnorm_forward(x, gamma, beta, bn_param):
    r"""Batch normalization over the batch dimension (Ioffe & Szegedy 2015).

    Train mode, with the statistics of each feature (unit) j over the B examples:

    .. math::
        \mu_j = \frac{1}{B}\sum_i x_{ij}, \qquad
        \sigma_j^2 = \frac{1}{B}\sum_i (x_{ij}-\mu_j)^2 \quad\text{(biased)},

        \hat x_{ij} = \frac{x_{ij}-\mu_j}{\sqrt{\sigma_j^2+\epsilon}}, \qquad
        y_{ij} = \gamma_j \hat x_{ij} + \beta_j .

    The running averages :math:`\bar\mu_j` (``running_mean``) and :math:`\bar\sigma_j^2`
    (``running_var``) follow PyTorch's ``BatchNorm1d`` convention, in which
    :math:`\varphi` = ``momentum`` (default 0.1) is the weight of the *new* batch:

    .. math::
        \bar\mu_j \leftarrow (1-\varphi)\,\bar\mu_j + \varphi\,\mu_j, \qquad
        \bar\sigma_j^2 \leftarrow (1-\varphi)\,\bar\sigma_j^2 + \varphi\,\frac{B}{B-1}\,\sigma_j^2 .

    Note the two variances: the batch is normalised with the biased :math:`\sigma_j^2`,
    while :math:`\bar\sigma_j^2` tracks the *unbiased* estimate :math:`\tfrac{B}{B-1}\sigma_j^2`
    (so B >= 2 is required in train mode, as in PyTorch).

    Eval mode normalises with the running averages instead:
    :math:`\hat x_{ij} = (x_{ij} - \bar\mu_j)/\sqrt{\bar\sigma_j^2+\epsilon}`.

    ``bn_param`` keys: ``mode`` ("train" or "eval", required), ``eps`` (:math:`\epsilon`,
    default 1e-5), ``momentum`` (:math:`\varphi`, default 0.1), ``running_mean`` and
    ``running_var`` (shape (D,)). Missing running statistics start at
    :math:`\bar\mu = 0` and :math:`\bar\sigma^2 = 1` (PyTorch's initial values).

    Documented side effect: in train mode ``bn_param["running_mean"]`` and
    ``bn_param["running_var"]`` are *replaced* by new arrays (the old arrays are never
    written to, so a reference kept by the caller is a valid snapshot). Eval mode does not
    modify ``bn_param`` at all.

    Returns ``(out, cache)``, ``out`` being :math:`y`.
    """
    x = _as_float_array("x", x)
    gamma = _as_float_array("gamma", gamma)
    beta = _as_float_array("beta", beta)
    _check_same_dtype(x=x, gamma=gamma, beta=beta)
    _check_2d("x", x)
    n, d = x.shape
    _check_vector("gamma", gamma, d)
    _check_vector("beta", beta, d)
    mode, eps, momentum = _bn_settings(bn_param)

    running_mean = bn_param.get("running_mean")
    running_var = bn_param.get("running_var")
    running_mean = np.zeros(d, dtype=x.dtype) if running_mean is None else np.asarray(running_mean)
    running_var = np.ones(d, dtype=x.dtype) if running_var is None else np.asarray(running_var)
    _check_vector('bn_param["running_mean"]', running_mean, d)
    _check_vector('bn_param["running_var"]', running_var, d)

    if mode == "train":
        if n < 2:
            raise ValueError(f"batch norm in train mode needs B >= 2 examples per batch, got B={n}")
        mu = x.mean(axis=0)
        xc = x - mu
        var = (xc * xc).mean(axis=0)
        std = np.sqrt(var + eps)
        xhat = xc / std
        unbiased = var * (n / (n - 1))
        bn_param["running_mean"] = ((1 - momentum) * running_mean + momentum * mu).astype(x.dtype)
        bn_param["running_var"] = ((1 - momentum) * running_var + momentum * unbiased).astype(x.dtype)
    else:
        std = np.sqrt(running_var.astype(x.dtype) + eps)
        xhat = (x - running_mean.astype(x.dtype)) / std
    out = gamma * xhat + beta
    return out, (mode, xhat, gamma, std)


def _bn_settings(bn_param):
    if not isinstance(bn_param, dict):
        raise TypeError(f"bn_param must be a dict, got {type(bn_param).__name__}")
    if "mode" not in bn_param:
        raise KeyError('bn_param must contain "mode": "train" or "eval"')
    mode = bn_param["mode"]
    if mode not in _BN_MODES:
        raise ValueError(f'bn_param["mode"] must be "train" or "eval", got {mode!r}')
    eps = float(bn_param.get("eps", 1e-5))
    if not eps > 0:
        raise ValueError(f'bn_param["eps"] must be > 0, got {eps}')
    momentum = float(bn_param.get("momentum", 0.1))
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'bn_param["momentum"] must lie in [0, 1], got {momentum}')
    return mode, eps, momentum


def batchnorm_backward(dout, cache):
    r"""Backward pass of :func:`batchnorm_forward`, in the compact closed form.

    With :math:`s_j = \sqrt{\sigma_j^2 + \epsilon}` (``std`` in the cache) and the
    upstream gradient :math:`\delta_{ij} = \partial L/\partial y_{ij}` (``dout``):

    .. math::
        \frac{\partial L}{\partial \beta_j} = \sum_i \delta_{ij}, \qquad
        \frac{\partial L}{\partial \gamma_j} = \sum_i \delta_{ij}\,\hat x_{ij}.

    Train mode. :math:`\mu_j` and :math:`\sigma_j^2` depend on every :math:`x_{ij}`
    of column j, so the chain rule collects three paths from :math:`x_{ij}` to L.
    With :math:`\partial L/\partial \hat x_{ij} = \gamma_j \delta_{ij}` and B (``n``)
    the batch size:

    .. math::
        \frac{\partial L}{\partial \sigma_j^2}
            = -\frac{1}{2} s_j^{-3} \sum_i \gamma_j\delta_{ij}\,(x_{ij}-\mu_j),
        \qquad
        \frac{\partial L}{\partial \mu_j}
            = -\frac{1}{s_j} \sum_i \gamma_j\delta_{ij},

        \frac{\partial L}{\partial x_{ij}} = \frac{\gamma_j\delta_{ij}}{s_j}
            + \frac{\partial L}{\partial \sigma_j^2}\,\frac{2(x_{ij}-\mu_j)}{B}
            + \frac{\partial L}{\partial \mu_j}\,\frac{1}{B}

    (the path from :math:`\mu_j` through :math:`\sigma_j^2` vanishes, since
    :math:`\sum_i (x_{ij}-\mu_j) = 0`). Substituting
    :math:`x_{ij}-\mu_j = s_j \hat x_{ij}` and collecting terms gives

    .. math::
        \frac{\partial L}{\partial x_{ij}}
            = \frac{\gamma_j}{B s_j}\Big(B\delta_{ij} - \sum_k \delta_{kj}
              - \hat x_{ij}\sum_k \delta_{kj}\hat x_{kj}\Big)
            = \frac{\gamma_j}{B s_j}\Big(B\delta_{ij}
              - \frac{\partial L}{\partial \beta_j}
              - \hat x_{ij}\,\frac{\partial L}{\partial \gamma_j}\Big).

    Eval mode. The running averages are constants, so the layer is affine in x:
    :math:`\partial L/\partial x_{ij}
    = \gamma_j\delta_{ij}/\sqrt{\bar\sigma_j^2+\epsilon}`
    (the cache's ``std`` then holds this square root).

    :func:`batchnorm_backward_alt` walks the same chain rule one node at a time.
    Returns ``(dx, dgamma, dbeta)``.
    """
    mode, xhat, gamma, std = cache
    dout = _check_dout(dout, xhat.shape)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if mode == "eval":
        return dout * (gamma / std), dgamma, dbeta
    n = dout.shape[0]
    dx = (gamma / (n * std)) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    r"""Backward pass of :func:`batchnorm_forward`, one node of the graph at a time.

    Same result as :func:`batchnorm_backward`, computed by back-propagating through the
    forward graph :math:`x \to \mu \to x-\mu \to \sigma^2 \to s \to \hat x \to
    y = \gamma\hat x+\beta`, with :math:`s = \sqrt{\sigma^2+\epsilon}` (``std``), exactly
    as written in the derivation there (the intermediate gradients
    :math:`\partial L/\partial\hat x`, :math:`\partial L/\partial\sigma^2`,
    :math:`\partial L/\partial\mu`), without the algebraic simplification. Useful to check
    the compact form and to follow the derivation line by line.
    Returns ``(dx, dgamma, dbeta)``.
    """
    mode, xhat, gamma, std = cache
    dout = _check_dout(dout, xhat.shape)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    if mode == "eval":
        return dxhat / std, dgamma, dbeta
    n = dout.shape[0]
    xc = xhat * std  # x - mu
    dvar = -0.5 * (dxhat * xc).sum(axis=0) / std**3
    dmu = -dxhat.sum(axis=0) / std + dvar * (-2.0 * xc.mean(axis=0))
    dx = dxhat / std + dvar * 2.0 * xc / n + dmu / n
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------- layer norm
def layernorm_forward(x, gamma, beta, ln_param=None):
    r"""Layer normalization (Ba, Kiros & Hinton 2016): each example is normalised over its
    own D features, with no running statistics and identical train/eval behaviour.

    .. math::
        \mu_i = \frac{1}{D}\sum_j x_{ij}, \qquad
        \sigma_i^2 = \frac{1}{D}\sum_j (x_{ij}-\mu_i)^2,

        \hat x_{ij} = \frac{x_{ij}-\mu_i}{\sqrt{\sigma_i^2+\epsilon}}, \qquad
        y_{ij} = \gamma_j \hat x_{ij} + \beta_j .

    ``ln_param`` keys: ``eps`` (:math:`\epsilon`, default 1e-5, as ``torch.nn.LayerNorm``).
    Matches ``torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)``.
    Returns ``(out, cache)``, ``out`` being :math:`y`.
    """
    x = _as_float_array("x", x)
    gamma = _as_float_array("gamma", gamma)
    beta = _as_float_array("beta", beta)
    _check_same_dtype(x=x, gamma=gamma, beta=beta)
    _check_2d("x", x)
    d = x.shape[1]
    _check_vector("gamma", gamma, d)
    _check_vector("beta", beta, d)
    ln_param = {} if ln_param is None else ln_param
    if not isinstance(ln_param, dict):
        raise TypeError(f"ln_param must be a dict or None, got {type(ln_param).__name__}")
    eps = float(ln_param.get("eps", 1e-5))
    if not eps > 0:
        raise ValueError(f'ln_param["eps"] must be > 0, got {eps}')
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    std = np.sqrt((xc * xc).mean(axis=1, keepdims=True) + eps)
    xhat = xc / std
    return gamma * xhat + beta, (xhat, gamma, std)


def layernorm_backward(dout, cache):
    r"""Backward pass of :func:`layernorm_forward`.

    The batch-norm derivation with the roles of the two axes exchanged: with the upstream
    gradient :math:`\delta_{ij} = \partial L/\partial y_{ij}` (``dout``),
    :math:`g_{ij} = \gamma_j\delta_{ij}` and :math:`s_i = \sqrt{\sigma_i^2+\epsilon}`
    (``std`` in the cache),

    .. math::
        \frac{\partial L}{\partial x_{ij}} = \frac{1}{D s_i}
            \Big(D g_{ij} - \sum_k g_{ik} - \hat x_{ij}\sum_k g_{ik}\hat x_{ik}\Big),\quad
        \frac{\partial L}{\partial \gamma_j} = \sum_i \delta_{ij}\hat x_{ij},\quad
        \frac{\partial L}{\partial \beta_j} = \sum_i \delta_{ij}.

    Returns ``(dx, dgamma, dbeta)``.
    """
    xhat, gamma, std = cache
    dout = _check_dout(dout, xhat.shape)
    d = xhat.shape[1]
    g = dout * gamma
    dx = (d * g - g.sum(axis=1, keepdims=True) - xhat * (g * xhat).sum(axis=1, keepdims=True)) / (d * std)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


# --------------------------------------------------------------------------- dropout
def dropout_forward(x, dropout_param):
    r"""Inverted dropout.

    ``dropout_param`` keys: ``p`` (probability of *dropping* a unit, PyTorch's convention,
    0 <= p < 1, required), ``mode`` ("train" or "eval", required), ``seed`` (optional int;
    the same seed gives the same mask).

    Train mode draws a mask :math:`m_{ij} \sim \text{Bernoulli}(1-p)` and rescales the kept
    units so that the expectation is unchanged:

    .. math:: \text{out} = \frac{m \odot x}{1-p}, \qquad \mathbb{E}[\text{out}] = x .

    Eval mode is the identity (no rescaling is needed thanks to the division at train time).
    Returns ``(out, cache)``.
    """
    x = _as_float_array("x", x)
    if not isinstance(dropout_param, dict):
        raise TypeError(f"dropout_param must be a dict, got {type(dropout_param).__name__}")
    for key in ("p", "mode"):
        if key not in dropout_param:
            raise KeyError(f'dropout_param must contain "{key}" (p: drop probability in [0, 1); mode: "train" or "eval")')
    p = float(dropout_param["p"])
    if not 0.0 <= p < 1.0:
        raise ValueError(f'dropout_param["p"] (drop probability) must lie in [0, 1), got {p}')
    mode = dropout_param["mode"]
    if mode not in _BN_MODES:
        raise ValueError(f'dropout_param["mode"] must be "train" or "eval", got {mode!r}')
    if mode == "eval":
        return x.copy(), (mode, None)
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) >= p).astype(x.dtype) / x.dtype.type(1.0 - p)
    return x * mask, (mode, mask)


def dropout_backward(dout, cache):
    r"""Backward pass of :func:`dropout_forward`:
    :math:`\partial L/\partial x = \text{dout}\odot m/(1-p)` in train mode, ``dout`` in eval mode.
    """
    mode, mask = cache
    dout = np.asarray(dout)
    if mode == "eval":
        return dout.copy()
    dout = _check_dout(dout, mask.shape)
    return dout * mask
