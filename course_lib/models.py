r"""A small fully connected classifier built from :mod:`course_lib.layers`.

Architecture for ``sizes = [D, H_1, ..., H_{L-1}, C]`` (L affine layers):

.. math::
    h_0 = x, \qquad
    h_l = \mathrm{ReLU}\big(\mathrm{BN}_l(h_{l-1} W_l + b_l)\big)\quad (l = 1, \dots, L-1),
    \qquad s = h_{L-1} W_L + b_L,

where :math:`\mathrm{BN}_l` (batch normalization with scale :math:`\gamma_l` and shift
:math:`\beta_l`) is present only when ``batchnorm=True``, and the loss is the mean softmax
cross-entropy of the scores :math:`s`.
"""

from __future__ import annotations

import numpy as np

from . import layers

__all__ = ["MLP"]


class MLP:
    r"""Multi-layer perceptron with ReLU activations and optional batch normalization.

    Parameters
    ----------
    sizes : sequence of int
        ``[D, H_1, ..., C]``: input dimension, hidden widths, number of classes (>= 2 entries).
    batchnorm : bool
        Insert batch normalization after every hidden affine layer (before the ReLU).
    seed : int
        Seed of the ``np.random.default_rng`` that draws the initial weights.
    dtype : float32 or float64
        dtype of every parameter and of the computations.
    weight_scale : float or None
        None (default): He initialisation, :math:`W_l \sim \mathcal{N}(0, 2/n_{l-1})` with
        :math:`n_{l-1}` the fan-in, which keeps the variance of ReLU activations roughly
        constant across layers (He et al. 2015). A float: :math:`\mathcal{N}(0, \text{weight\_scale}^2)`.
        Biases and :math:`\beta_l` start at 0, :math:`\gamma_l` at 1.

    Attributes
    ----------
    params : dict
        ``W1, b1, gamma1, beta1, ..., WL, bL`` (gamma/beta only with batch norm).
    bn_params : list of dict
        One dict per hidden layer with batch norm (``eps``, ``momentum``, ``running_mean``,
        ``running_var``), empty without batch norm.
    """

    def __init__(self, sizes, batchnorm=False, seed=0, dtype=np.float64, weight_scale=None):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least [input_dim, num_classes], got {sizes}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
                raise ValueError(f"sizes must be positive integers, got {sizes}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        if weight_scale is not None and not weight_scale > 0:
            raise ValueError(f"weight_scale must be None (He initialisation) or > 0, got {weight_scale}")
        self.sizes = [int(s) for s in sizes]
        self.batchnorm = bool(batchnorm)
        self.dtype = dtype
        self.num_layers = len(sizes) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        self.bn_params = []
        for l, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            std = np.sqrt(2.0 / fan_in) if weight_scale is None else float(weight_scale)
            self.params[f"W{l}"] = (std * rng.standard_normal((fan_in, fan_out))).astype(dtype)
            self.params[f"b{l}"] = np.zeros(fan_out, dtype=dtype)
            if self.batchnorm and l < self.num_layers:
                self.params[f"gamma{l}"] = np.ones(fan_out, dtype=dtype)
                self.params[f"beta{l}"] = np.zeros(fan_out, dtype=dtype)
                self.bn_params.append(
                    {
                        "eps": 1e-5,
                        "momentum": 0.1,
                        "running_mean": np.zeros(fan_out, dtype=dtype),
                        "running_var": np.ones(fan_out, dtype=dtype),
                    }
                )

    def __repr__(self):
        return f"MLP(sizes={self.sizes}, batchnorm={self.batchnorm}, dtype={self.dtype.name})"

    # ------------------------------------------------------------------ forward/backward
    def loss(self, X, y=None, mode=None):
        r"""Scores, or loss and gradients.

        ``mode``: "train" (batch norm uses batch statistics and updates its running
        statistics) or "eval" (batch norm uses the running statistics; nothing changes).
        The default None means "train" when labels ``y`` are given and "eval" when they are
        not, so that ``loss(X)`` never alters the model.

        Returns the scores (B, C) of the B rows of ``X`` when ``y`` is None, else
        ``(loss, grads)`` with the mean softmax cross-entropy :math:`L` and
        ``grads[name]`` :math:`= \partial L/\partial` ``params[name]`` for every parameter.
        """
        if mode is None:
            mode = "eval" if y is None else "train"
        if mode not in ("train", "eval"):
            raise ValueError(f'mode must be "train", "eval" or None, got {mode!r}')
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (n, {self.sizes[0]}), got {X.shape}")
        if X.dtype != self.dtype:
            raise TypeError(f"X has dtype {X.dtype} but the model's dtype is {self.dtype}; convert X first")
        p = self.params
        caches = []
        h = X
        for l in range(1, self.num_layers):
            h, c_aff = layers.affine_forward(h, p[f"W{l}"], p[f"b{l}"])
            c_bn = None
            if self.batchnorm:
                bn_param = self.bn_params[l - 1]
                bn_param["mode"] = mode
                h, c_bn = layers.batchnorm_forward(h, p[f"gamma{l}"], p[f"beta{l}"], bn_param)
            h, c_relu = layers.relu_forward(h)
            caches.append((c_aff, c_bn, c_relu))
        L = self.num_layers
        scores, c_last = layers.affine_forward(h, p[f"W{L}"], p[f"b{L}"])
        if y is None:
            return scores

        loss, dscores = layers.softmax_loss(scores, y)
        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = layers.affine_backward(dscores, c_last)
        for l in range(L - 1, 0, -1):
            c_aff, c_bn, c_relu = caches[l - 1]
            dh = layers.relu_backward(dh, c_relu)
            if self.batchnorm:
                dh, grads[f"gamma{l}"], grads[f"beta{l}"] = layers.batchnorm_backward(dh, c_bn)
            dh, grads[f"W{l}"], grads[f"b{l}"] = layers.affine_backward(dh, c_aff)
        return loss, grads

    def predict(self, X):
        """Predicted class of each row of ``X`` (eval mode): ``argmax_c s_c``."""
        return np.argmax(self.loss(X, mode="eval"), axis=1)

    def accuracy(self, X, y):
        """Fraction of rows of ``X`` whose predicted class equals ``y`` (eval mode)."""
        y = np.asarray(y)
        if y.shape != (np.asarray(X).shape[0],):
            raise ValueError(f"y must have shape (n,) matching X's {np.asarray(X).shape[0]} rows, got {y.shape}")
        return float(np.mean(self.predict(X) == y))

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """Deep copy of the complete state: every parameter and the batch-norm running
        statistics (keys ``bn{l}.running_mean`` and ``bn{l}.running_var``).

        Later changes to the model never reach the returned dict, and vice versa.
        """
        sd = {name: value.copy() for name, value in self.params.items()}
        for l, bn_param in enumerate(self.bn_params, start=1):
            sd[f"bn{l}.running_mean"] = np.array(bn_param["running_mean"], copy=True)
            sd[f"bn{l}.running_var"] = np.array(bn_param["running_var"], copy=True)
        return sd

    def load_state_dict(self, sd):
        """Load a state produced by :meth:`state_dict` (arrays are copied, cast to the
        model's dtype). The keys and shapes must match this model exactly."""
        expected = self.state_dict()
        missing = sorted(set(expected) - set(sd))
        unexpected = sorted(set(sd) - set(expected))
        if missing or unexpected:
            raise KeyError(f"state dict does not fit this model: missing keys {missing}, unexpected keys {unexpected}")
        for name, ref in expected.items():
            shape = np.shape(sd[name])
            if shape != ref.shape:
                raise ValueError(f"state dict entry {name!r} has shape {shape}, the model needs {ref.shape}")
        for name in self.params:
            self.params[name] = np.array(sd[name], dtype=self.dtype, copy=True)
        for l, bn_param in enumerate(self.bn_params, start=1):
            bn_param["running_mean"] = np.array(sd[f"bn{l}.running_mean"], dtype=self.dtype, copy=True)
            bn_param["running_var"] = np.array(sd[f"bn{l}.running_var"], dtype=self.dtype, copy=True)
