r"""Learning-rate schedules ``eta(k)``.

Every factory returns a :class:`Schedule`: a callable ``lr(k) -> float`` where ``k >= 0`` is
the number of optimizer steps already taken (``k = 0`` for the first step, so the step that
produces ``w_t`` uses ``eta(t - 1)``). This is exactly how ``torch.optim.lr_scheduler`` is
used when ``scheduler.step()`` is called once after every ``optimizer.step()``: the learning
rate of step ``k`` is ``scheduler.get_last_lr()`` after ``k`` scheduler steps.

Each schedule can also be evaluated on many steps at once with :meth:`Schedule.values`.
The torch counterpart of each schedule (where one exists) is named in its docstring; the
tests step a real torch optimizer and scheduler and compare, step by step.
"""

from __future__ import annotations

import numpy as np

from . import _validate

__all__ = [
    "Schedule",
    "constant",
    "step_decay",
    "multistep",
    "exponential",
    "piecewise_linear",
    "cyclic",
    "cosine",
    "cosine_warm_restarts",
    "noam",
    "warmup_cosine",
    "linear_warmup",
    "SCHEDULES",
]


def _check_step(k):
    """Return ``k`` as a Python int: an integer (Python or NumPy) >= 0."""
    return _validate.integer("k", k, low=0, expected="a non-negative integer step count")


class Schedule:
    """A learning-rate schedule ``eta(k)``.

    Parameters
    ----------
    name : str
        Name of the factory that built it (a key of :data:`SCHEDULES`).
    fn : callable
        Vectorised formula: maps an int64 array of step counts ``k >= 0`` to float64 rates.
    params : dict
        The hyperparameters the schedule was built with (for ``repr`` and plots).

    Calling ``schedule(k)`` returns ``eta(k)`` as a Python float for one step count
    ``k`` (int or numpy integer, ``k >= 0``); ``schedule.values(n)`` returns
    ``[eta(0), ..., eta(n - 1)]`` as a float64 array.
    """

    def __init__(self, name, fn, params):
        self.name = name
        self._fn = fn
        self.params = dict(params)

    def __call__(self, k):
        k = _check_step(k)
        return float(self._fn(np.array([k], dtype=np.int64))[0])

    def values(self, n):
        """Return ``eta(0), ..., eta(n-1)`` as a float64 array of length ``n``."""
        n = _check_step(n)
        return np.asarray(self._fn(np.arange(n, dtype=np.int64)), dtype=np.float64)

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"Schedule({self.name}: {args})"


# ----------------------------------------------------------------------------- validation
def _check_lr(lr, name="lr"):
    return _validate.number(name, lr, low=0.0)


# ----------------------------------------------------------------------------- schedules
def constant(lr):
    r"""Constant learning rate: :math:`\eta(k) = \eta_0` with ``eta_0 = lr``.

    torch: no scheduler (or ``ConstantLR`` with ``factor=1``).
    """
    lr = _check_lr(lr)
    return Schedule("constant", lambda k: np.full(k.shape, lr), {"lr": lr})


def step_decay(lr, step_size, gamma=0.1):
    r"""Step decay: :math:`\eta(k) = \eta_0\,\gamma^{\lfloor k / s \rfloor}`.

    ``eta_0 = lr``, ``s = step_size`` (steps per stage, integer >= 1), ``gamma > 0`` (the
    factor applied at each stage). torch: ``StepLR(step_size, gamma)``.
    """
    lr = _check_lr(lr)
    step_size = _validate.integer("step_size", step_size, low=1)
    gamma = _validate.number("gamma", gamma, low=0.0, low_open=True)
    return Schedule(
        "step_decay",
        lambda k: lr * gamma ** (k // step_size).astype(np.float64),
        {"lr": lr, "step_size": step_size, "gamma": gamma},
    )


def multistep(lr, milestones, gamma=0.1):
    r"""Decay at given milestones: :math:`\eta(k) = \eta_0\,\gamma^{|\{i:\ m_i \le k\}|}`.

    ``milestones`` are strictly increasing integers ``m_1 < m_2 < ...`` (each >= 1): from step
    ``m_i`` on the rate has been multiplied by ``gamma`` ``i`` times.
    torch: ``MultiStepLR(milestones, gamma)``.
    """
    lr = _check_lr(lr)
    gamma = _validate.number("gamma", gamma, low=0.0, low_open=True)
    if not isinstance(milestones, (list, tuple, np.ndarray, range)):
        _validate.fail(TypeError, "milestones", "a sequence of increasing integers >= 1",
                       milestones)
    ms = [_validate.integer(f"milestones[{i}]", m, low=1) for i, m in enumerate(milestones)]
    if any(b <= a for a, b in zip(ms, ms[1:])):
        raise ValueError(f"milestones must be strictly increasing, got {ms!r}")
    edges = np.asarray(ms, dtype=np.int64)
    return Schedule(
        "multistep",
        lambda k: lr * gamma ** np.searchsorted(edges, k, side="right").astype(np.float64),
        {"lr": lr, "milestones": tuple(ms), "gamma": gamma},
    )


def exponential(lr, gamma):
    r"""Exponential decay: :math:`\eta(k) = \eta_0\,\gamma^{k}` (``gamma > 0``).

    torch: ``ExponentialLR(gamma)``.
    """
    lr = _check_lr(lr)
    gamma = _validate.number("gamma", gamma, low=0.0, low_open=True)
    return Schedule(
        "exponential",
        lambda k: lr * gamma ** k.astype(np.float64),
        {"lr": lr, "gamma": gamma},
    )


def piecewise_linear(knots, values):
    r"""Linear interpolation between points :math:`(k_i, \eta_i)`.

    For :math:`k_i \le k \le k_{i+1}`:
    :math:`\eta(k) = \eta_i + (\eta_{i+1} - \eta_i)\,(k - k_i)/(k_{i+1} - k_i)`;
    constant :math:`\eta_1` before the first knot and :math:`\eta_n` after the last
    (the same as ``np.interp(k, knots, values)``). ``knots`` must be strictly increasing
    and ``values`` non-negative, of the same length (>= 1).
    """
    kn = np.array(knots, dtype=np.float64)  # copies: later edits of knots do not leak in
    vals = np.array(values, dtype=np.float64)
    if kn.ndim != 1 or kn.size < 1:
        raise ValueError(f"knots must be a non-empty 1-D sequence, got shape {kn.shape}")
    if vals.shape != kn.shape:
        raise ValueError(
            f"values must have the same length as knots ({kn.size}), got shape {vals.shape}"
        )
    if not (np.all(np.isfinite(kn)) and np.all(np.isfinite(vals))):
        raise ValueError("knots and values must be finite")
    if np.any(np.diff(kn) <= 0):
        raise ValueError(f"knots must be strictly increasing, got {kn.tolist()}")
    if np.any(vals < 0):
        raise ValueError(f"values (learning rates) must be >= 0, got {vals.tolist()}")
    return Schedule(
        "piecewise_linear",
        lambda k: np.interp(k.astype(np.float64), kn, vals),
        {"knots": tuple(kn.tolist()), "values": tuple(vals.tolist())},
    )


def cyclic(base_lr, max_lr, step_size_up=2000, step_size_down=None):
    r"""Triangular cyclical learning rate (Smith 2017).

    With :math:`S_u` = ``step_size_up``, :math:`S_d` = ``step_size_down`` (default
    :math:`S_u`) and the position in the cycle :math:`p = k \bmod (S_u + S_d)`:

    .. math::
        \eta(k) = \eta_{\min} + (\eta_{\max} - \eta_{\min})
        \begin{cases} p / S_u & p \le S_u \\ (S_u + S_d - p) / S_d & p > S_u \end{cases}

    with :math:`\eta_{\min}` = ``base_lr`` <= :math:`\eta_{\max}` = ``max_lr``.
    torch: ``CyclicLR(base_lr, max_lr, step_size_up, step_size_down, mode="triangular",
    cycle_momentum=False)``.
    """
    base_lr = _check_lr(base_lr, "base_lr")
    max_lr = _check_lr(max_lr, "max_lr")
    if max_lr < base_lr:
        raise ValueError(f"max_lr must be >= base_lr ({base_lr!r}), got {max_lr!r}")
    up = _validate.number("step_size_up", step_size_up, low=0.0, low_open=True)
    down = up if step_size_down is None else _validate.number(
        "step_size_down", step_size_down, low=0.0, low_open=True
    )
    total = up + down

    def fn(k):
        p = np.mod(k.astype(np.float64), total)
        scale = np.where(p <= up, p / up, (total - p) / down)
        return base_lr + (max_lr - base_lr) * scale

    return Schedule(
        "cyclic", fn,
        {"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "step_size_down": down},
    )


def _cosine_part(lr, eta_min, t_cur, t_i):
    return eta_min + 0.5 * (lr - eta_min) * (1.0 + np.cos(np.pi * t_cur / t_i))


def cosine(lr, T_max, eta_min=0.0):
    r"""Cosine annealing: :math:`\eta(k) = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
    (1 + \cos(\pi k / T_{\max}))`.

    Falls from ``lr`` at ``k = 0`` to ``eta_min`` at ``k = T_max``; for ``k > T_max`` the
    same formula continues (the rate rises again), exactly as torch's
    ``CosineAnnealingLR(T_max, eta_min)`` closed form does. Use :func:`warmup_cosine`
    (which holds ``eta_min``) or :func:`cosine_warm_restarts` to go on past ``T_max``.
    """
    lr = _check_lr(lr)
    T_max = _validate.integer("T_max", T_max, low=1)
    eta_min = _validate.number("eta_min", eta_min, low=0.0, high=lr)
    return Schedule(
        "cosine",
        lambda k: _cosine_part(lr, eta_min, k.astype(np.float64), T_max),
        {"lr": lr, "T_max": T_max, "eta_min": eta_min},
    )


def cosine_warm_restarts(lr, T_0, T_mult=1, eta_min=0.0):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Cycle :math:`i = 0, 1, \dots` lasts :math:`T_i = T_0 T_{\mathrm{mult}}^i` steps;
    :math:`T_{\mathrm{cur}}` counts the steps since the last restart, and

    .. math::
        \eta(k) = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
        (1 + \cos(\pi T_{\mathrm{cur}} / T_i)).

    At each restart the rate jumps back to ``lr``. ``T_0`` and ``T_mult`` are integers >= 1.
    torch: ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)``.
    """
    lr = _check_lr(lr)
    T_0 = _validate.integer("T_0", T_0, low=1)
    T_mult = _validate.integer("T_mult", T_mult, low=1)
    eta_min = _validate.number("eta_min", eta_min, low=0.0, high=lr)

    def fn(k):
        if T_mult == 1:
            t_cur, t_i = k % T_0, np.full(k.shape, T_0)
        else:
            # Restart steps T_0 (T_mult^i - 1)/(T_mult - 1), built with exact integers.
            kmax = int(k.max()) if k.size else 0
            starts, lengths = [0], [T_0]
            while starts[-1] + lengths[-1] <= kmax:
                starts.append(starts[-1] + lengths[-1])
                lengths.append(lengths[-1] * T_mult)
            cycle = np.searchsorted(np.asarray(starts), k, side="right") - 1
            t_cur = k - np.asarray(starts)[cycle]
            t_i = np.asarray(lengths, dtype=np.float64)[cycle]
        return _cosine_part(lr, eta_min, t_cur.astype(np.float64), t_i)

    return Schedule(
        "cosine_warm_restarts", fn,
        {"lr": lr, "T_0": T_0, "T_mult": T_mult, "eta_min": eta_min},
    )


def noam(d_model, warmup_steps, factor=1.0):
    r"""The Transformer ("Noam") schedule of Vaswani et al. (2017).

    .. math::
        \eta(k) = \text{factor}\cdot d_{\text{model}}^{-1/2}
        \min\big((k+1)^{-1/2},\ (k+1)\,W^{-3/2}\big),\qquad W = \text{warmup\_steps}.

    Linear warm-up for the first ``W`` steps, peak
    :math:`\text{factor}\,(d_{\text{model}} W)^{-1/2}` at ``k + 1 = W``, then decay as the
    inverse square root of the step number ``k + 1``.
    torch: ``LambdaLR`` with this function and base ``lr = 1``.
    """
    d_model = _validate.integer("d_model", d_model, low=1)
    warmup_steps = _validate.integer("warmup_steps", warmup_steps, low=1)
    factor = _validate.number("factor", factor, low=0.0, low_open=True)

    def fn(k):
        s = (k + 1).astype(np.float64)
        return factor * d_model ** -0.5 * np.minimum(s ** -0.5, s * warmup_steps ** -1.5)

    return Schedule(
        "noam", fn, {"d_model": d_model, "warmup_steps": warmup_steps, "factor": factor}
    )


def linear_warmup(lr, warmup_steps):
    r"""Linear warm-up to a constant: :math:`\eta(k) = \eta_0 \min\big(1, (k+1)/W\big)`.

    The first step already uses :math:`\eta_0 / W` (never a wasted step with rate 0) and
    step ``k = W - 1`` reaches ``lr``. torch: ``LinearLR(start_factor=1/W, end_factor=1,
    total_iters=W-1)``.
    """
    lr = _check_lr(lr)
    warmup_steps = _validate.integer("warmup_steps", warmup_steps, low=1)
    return Schedule(
        "linear_warmup",
        lambda k: lr * np.minimum(1.0, (k + 1).astype(np.float64) / warmup_steps),
        {"lr": lr, "warmup_steps": warmup_steps},
    )


def warmup_cosine(lr, warmup_steps, total_steps, eta_min=0.0):
    r"""Linear warm-up followed by cosine annealing, then constant ``eta_min``.

    With :math:`W` = ``warmup_steps`` and :math:`T` = ``total_steps``:

    .. math::
        \eta(k) = \begin{cases}
        \eta_0 (k+1)/W & 0 \le k < W \\
        \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})(1 + \cos(\pi (k - W)/(T - W)))
            & W \le k \le T \\
        \eta_{\min} & k > T.
        \end{cases}

    ``W = 0`` means no warm-up. torch: ``SequentialLR([LinearLR(start_factor=1/W,
    total_iters=W-1), CosineAnnealingLR(T_max=T-W, eta_min)], milestones=[W])`` for
    ``k <= T``.
    """
    lr = _check_lr(lr)
    warmup_steps = _validate.integer("warmup_steps", warmup_steps, low=0)
    total_steps = _validate.integer("total_steps", total_steps, low=1)
    if total_steps <= warmup_steps:
        raise ValueError(
            f"total_steps must be > warmup_steps ({warmup_steps}), got {total_steps}"
        )
    eta_min = _validate.number("eta_min", eta_min, low=0.0, high=lr)
    span = total_steps - warmup_steps

    def fn(k):
        kf = k.astype(np.float64)
        decay = _cosine_part(lr, eta_min, np.minimum(kf - warmup_steps, span), span)
        if warmup_steps == 0:
            return decay
        return np.where(k < warmup_steps, lr * (kf + 1.0) / warmup_steps, decay)

    return Schedule(
        "warmup_cosine", fn,
        {"lr": lr, "warmup_steps": warmup_steps, "total_steps": total_steps,
         "eta_min": eta_min},
    )


SCHEDULES = {
    "constant": constant,
    "step_decay": step_decay,
    "multistep": multistep,
    "exponential": exponential,
    "piecewise_linear": piecewise_linear,
    "cyclic": cyclic,
    "cosine": cosine,
    "cosine_warm_restarts": cosine_warm_restarts,
    "noam": noam,
    "warmup_cosine": warmup_cosine,
    "linear_warmup": linear_warmup,
}
