"""Shared machinery for the ``torch.optim.Optimizer`` versions of the course's update rules.

Every rule in this package is a subclass of :class:`RuleOptimizer`. The subclass declares its
hyperparameters and their defaults (``__init__``), which state a parameter needs
(``_init_state``) and the update itself (``_update``). The loop over parameter groups, the
``closure`` protocol, the step counter, the checks of every hyperparameter (by name, with the
table of :mod:`course_lib.optim`), what every ``torch.optim`` rule does to the gradient first
(``maximize``, weight decay) and the refusal of gradients we cannot handle live here, once.

Conventions shared by all rules (book notation):

- ``w`` is a parameter tensor, ``g`` its gradient ``p.grad``, ``t`` the number of steps taken
  *including* the current one (``t = 1`` on the first step), ``eta`` the learning rate ``lr``,
  ``lambda`` the ``weight_decay``.
- ``state["step"]`` holds ``t`` as a plain Python ``int`` (never a tensor), so it needs no
  device and survives ``state_dict()`` / ``load_state_dict()`` unchanged; every other state
  entry is a tensor shaped, typed and placed like its parameter.
- Parameters whose ``grad`` is ``None`` are skipped: neither they nor their state change.
- ``lr`` may be a number or a one-element Tensor, as in torch; a Tensor is read as its
  value (``float(lr)``) at every step, so a scheduler that changes it in place works.
  torch computes a few step sizes in the Tensor's own dtype, so with a float32 Tensor the
  two agree to float32 rounding of the step size rather than bit for bit.

Implementation keywords. ``torch.optim`` classes also take switches that choose *how* the
same update is computed; every class here accepts them so that it can replace its torch
twin in existing code: ``foreach`` and ``fused`` (``None``, ``True`` or ``False``) are
accepted and ignored, since this package always runs the single-tensor loop that torch runs
with ``foreach=False`` (its results equal torch's ``foreach=False`` bit for bit);
``capturable`` and ``differentiable`` are accepted with their default ``False`` only: the
step counter is a Python int, which a CUDA graph cannot capture, and ``step`` runs under
``torch.no_grad()``, so autograd cannot differentiate through it.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from .. import _validate
from ..optim._base import HYPERPARAMETERS

__all__ = ["RuleOptimizer", "IMPLEMENTATION_KEYWORDS"]

#: torch's keywords that select an implementation, not a rule (see the module docstring).
IMPLEMENTATION_KEYWORDS = ("foreach", "fused", "capturable", "differentiable")

_LR_EXPECTED = (
    "a finite number >= 0 or a one-element Tensor holding one (to change it over time, use a "
    "torch.optim.lr_scheduler or set param_group['lr'])"
)


def _lr(name: str, value: Any, owner: str | None = None) -> Any:
    """A learning rate as torch accepts it: a number or a one-element floating Tensor."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or not value.is_floating_point():
            _validate.fail(TypeError, name, _LR_EXPECTED, value, owner)
        _validate.number(name, value.item(), low=0.0, expected=_LR_EXPECTED, owner=owner)
        return value
    return _validate.number(name, value, low=0.0, expected=_LR_EXPECTED, owner=owner)


# course_lib.optim's table, except that lr is never a schedule here
_CHECKS = {**HYPERPARAMETERS, "lr": _lr}


def _check_implementation(owner: str, implementation: dict[str, Any]) -> None:
    for key, value in implementation.items():
        if key not in IMPLEMENTATION_KEYWORDS:
            raise TypeError(f"{owner}.__init__() got an unexpected keyword argument {key!r}")
        if key in ("foreach", "fused"):
            if value is not None:
                _validate.flag(key, value, owner=owner)
        elif _validate.flag(key, value, owner=owner):
            _validate.fail(ValueError, key, "False (course_lib.torch_optim always steps with a "
                           "Python step counter under torch.no_grad(); use torch.optim for "
                           f"{key}=True)", value, owner)


class RuleOptimizer(torch.optim.Optimizer):
    """Base class: the per-parameter loop shared by every rule of the package.

    ``step(closure=None)`` does, for every parameter group and every parameter ``w`` in it
    whose gradient ``g`` exists, in torch's order::

        t <- t + 1                           (state["step"], first step t = 1)
        g <- -g                              (maximize=True)
        g <- g + lambda * w                  (weight_decay lambda != 0, L2 penalty)
        w <- (1 - eta * lambda) * w          (instead, with decoupled_weight_decay=True)
        w, state <- update(w, g, state, hyperparameters of the group)

    under ``torch.no_grad()``. If ``closure`` is given it is called first (with gradients
    enabled) and its return value, normally the loss, is returned.

    Args:
        params: iterable of tensors or of parameter-group dicts.
        defaults: the hyperparameters of the rule with their values; each is checked, in
            every parameter group, by its name.
        implementation: torch's implementation keywords (see the module docstring).
    """

    def __init__(self, params, defaults: dict[str, Any], implementation: dict[str, Any]):
        _check_implementation(type(self).__name__, implementation)
        super().__init__(params, defaults)

    # --- what subclasses provide -------------------------------------------------------
    def _check_rule(self, group: dict[str, Any]) -> None:
        """Constraints between hyperparameters (each one alone is checked by name)."""

    def _init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _update(
        self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any],
        lr: float,
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- shared machinery ----------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Validate the group's hyperparameters (its own values over the defaults) and add it."""
        owner = type(self).__name__
        if not isinstance(param_group, dict):
            _validate.fail(TypeError, "a parameter group", "a dict", param_group, owner)
        # Extra keys (a group "name", a scheduler's "initial_lr") are allowed, as in torch.
        merged = {**self.defaults, **param_group}
        for name in self.defaults:
            _CHECKS[name](name, merged[name], owner)
        self._check_rule(merged)
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            if not p.is_floating_point():
                self.param_groups.pop()
                raise TypeError(
                    f"{owner}: parameters must be real floating-point tensors "
                    f"(float16/bfloat16/float32/float64), got one of dtype {p.dtype}"
                )

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None):
        """Take one optimization step; return ``closure()`` if a closure was given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            lr = float(group["lr"])  # a one-element Tensor lr is read as its value
            weight_decay = group["weight_decay"]
            decoupled = group.get("decoupled_weight_decay", False)
            for pi, p in enumerate(group["params"]):
                grad = p.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    raise TypeError(
                        f"{type(self).__name__} does not support sparse gradients "
                        f"(param_groups[{gi}]['params'][{pi}]); use dense gradients, e.g. "
                        f"nn.Embedding(sparse=False), or torch.optim.SparseAdam"
                    )
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state.update(self._init_state(p, group))
                state["step"] += 1
                if group["maximize"]:
                    grad = -grad
                if weight_decay != 0:
                    if decoupled:
                        p.mul_(1 - lr * weight_decay)
                    else:
                        grad = grad.add(p, alpha=weight_decay)
                self._update(p, grad, state, group, lr)
        return loss
