"""Shared machinery for the ``torch.optim.Optimizer`` versions of the course's update rules.

Every rule in this package is a subclass of :class:`RuleOptimizer`. The subclass declares its
hyperparameters (``__init__``), how to validate one parameter group (``_check_group``), which
state a parameter needs (``_init_state``) and the update itself (``_update``). The loop over
parameter groups, the ``closure`` protocol, the step counter and the refusal of gradients we
cannot handle live here, once.

Conventions shared by all rules (book notation):

- ``w`` is a parameter tensor, ``g`` its gradient ``p.grad``, ``t`` the number of steps taken
  *including* the current one (``t = 1`` on the first step), ``eta`` the learning rate ``lr``,
  ``lambda`` the ``weight_decay``.
- ``state["step"]`` holds ``t`` as a plain Python ``int`` (never a tensor), so it needs no
  device and survives ``state_dict()`` / ``load_state_dict()`` unchanged; every other state
  entry is a tensor shaped, typed and placed like its parameter.
- Parameters whose ``grad`` is ``None`` are skipped: neither they nor their state change.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import torch

__all__ = [
    "RuleOptimizer",
    "check_lr",
    "check_nonneg",
    "check_rate",
    "check_betas",
    "check_flag",
]


def _check_real(owner: str, name: str, value: Any) -> float:
    # bool is a subclass of int; a flag passed where a number belongs is a bug, not 0 or 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{owner}: {name} must be a real number (int or float), got {value!r} "
            f"of type {type(value).__name__}"
        )
    return float(value)


def check_lr(owner: str, value: Any) -> None:
    """Require a finite learning rate ``lr >= 0`` given as a Python/NumPy real number."""
    if callable(value):
        raise TypeError(
            f"{owner}: lr must be a real number; to change it over time use a "
            f"torch.optim.lr_scheduler (or set param_group['lr']), got the callable {value!r}"
        )
    check_nonneg(owner, "lr", value)


def check_nonneg(owner: str, name: str, value: Any) -> None:
    """Require a finite real number ``value >= 0``."""
    x = _check_real(owner, name, value)
    if not (x >= 0.0 and math.isfinite(x)):
        raise ValueError(f"{owner}: {name} must be a finite number >= 0, got {value!r}")


def check_rate(owner: str, name: str, value: Any) -> None:
    """Require a decay rate in ``[0, 1)`` (momentum, alpha, rho)."""
    x = _check_real(owner, name, value)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value!r}")


def check_betas(owner: str, value: Any) -> None:
    """Require ``betas = (beta1, beta2)`` with both entries in ``[0, 1)``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(
            f"{owner}: betas must be a pair (beta1, beta2) of numbers in [0, 1), got {value!r}"
        )
    for i, beta in enumerate(value):
        check_rate(owner, f"betas[{i}]", beta)


def check_flag(owner: str, name: str, value: Any) -> None:
    """Require a genuine ``bool`` (``True``/``False``), not a truthy number or string."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")


class RuleOptimizer(torch.optim.Optimizer):
    """Base class: the per-parameter loop shared by every rule of the package.

    ``step(closure=None)`` does, for every parameter group and every parameter ``w`` in it
    whose gradient ``g`` exists::

        t <- t + 1            (state["step"], first step t = 1)
        w, state <- update(w, g, state, hyperparameters of the group)

    under ``torch.no_grad()``. If ``closure`` is given it is called first (with gradients
    enabled) and its return value, normally the loss, is returned.
    """

    # --- what subclasses provide -------------------------------------------------------
    def _check_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_state(self, p: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _update(
        self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- shared machinery ----------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Validate the group's hyperparameters (its own values over the defaults) and add it."""
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{type(self).__name__}: a parameter group must be a dict, got "
                f"{type(param_group).__name__}"
            )
        # Extra keys (a group "name", a scheduler's "initial_lr") are allowed, as in torch.
        merged = {**self.defaults, **param_group}
        self._check_group(merged)
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            if not p.is_floating_point():
                self.param_groups.pop()
                raise TypeError(
                    f"{type(self).__name__}: parameters must be real floating-point tensors "
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
                self._update(p, grad, state, group)
        return loss
