"""Checks for assignment 4, the Adam family: AdaMax, Nadam, AMSGrad, AdamW and two schedules.

Every rule follows the matching ``torch.optim`` class exactly (the notebook states each
convention), so a correct submission reproduces ``torch.optim`` to rounding error:

- AdaMax (``torch.optim.Adamax``):  u_t = max(beta2 u_{t-1}, |g_t| + eps),
  w_t = w_{t-1} - eta / (1 - beta1^t) * m_t / u_t.
- Nadam (``torch.optim.NAdam``, momentum-decay schedule):
  mu_t = beta1 (1 - 0.5 * 0.96^(t psi)), psi = momentum_decay,
  w_t = w_{t-1} - eta (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g_t / d_t
                - eta mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m_t / d_t,
  d_t = sqrt(v_t / (1 - beta2^t)) + eps.
- AMSGrad (``torch.optim.Adam(amsgrad=True)``): vmax_t = max(vmax_{t-1}, v_t) of the *raw*
  second moments, d_t = sqrt(vmax_t) / sqrt(1 - beta2^t) + eps.
- AdamW (``torch.optim.AdamW``): w <- w (1 - eta lambda), then the Adam step.
- SGDR (``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``) and linear warm-up followed
  by inverse-square-root decay (the Transformer schedule normalised to peak at ``lr``).

Optimizer steps have the signature ``step(w, g, state, **hyperparameters) -> (w_new,
state_new)`` with ``state`` a dict holding ``t`` (steps taken, 0 initially) and the moment
arrays; they must not modify their inputs.
"""
from __future__ import annotations

import math

import numpy as np

from .core import Case, Check, Tolerance, Variant, case_rng, combine, make_check, table

__all__ = [
    "CHECKS",
    "VARIANTS",
    "adamax_step",
    "nadam_step",
    "amsgrad_step",
    "adamw_step",
    "sgdr_lr",
    "warmup_rsqrt_lr",
    "init_state",
]


_STATE_KEYS = {
    "adamax_step": ("m", "u"),
    "nadam_step": ("m", "v"),
    "amsgrad_step": ("m", "v", "v_max"),
    "adamw_step": ("m", "v"),
}

F64 = Tolerance(rtol=1e-7, atol=1e-10)
F32 = Tolerance(rtol=2e-5, atol=1e-7)


def init_state(rule, w):
    """The state before the first step of ``rule`` (one of the four step names): t = 0,
    zero moment arrays shaped like ``w`` and, for Nadam, ``mu_product`` = 1."""
    if rule not in _STATE_KEYS:
        raise KeyError(f"rule must be one of {sorted(_STATE_KEYS)}, got {rule!r}")
    state = {"t": 0}
    for key in _STATE_KEYS[rule]:
        state[key] = np.zeros_like(w)
    if rule == "nadam_step":
        state["mu_product"] = 1.0
    return state


# ----------------------------------------------------------------------------------------
# Reference implementations (the assignment's exact signatures)
# ----------------------------------------------------------------------------------------


def adamax_step(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One AdaMax step (torch.optim.Adamax convention: eps inside the max).

        t   = t_prev + 1
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        u_t = max(beta2 u_{t-1}, |g_t| + eps)
        w_t = w_{t-1} - lr / (1 - beta1^t) * m_t / u_t

    state: dict with t (int), m, u (arrays shaped like w). Returns (w_t, new state dict).
    """
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(beta2 * state["u"], np.abs(g) + eps)
    w_new = w - (lr / (1 - beta1**t)) * m / u
    return w_new, {"t": t, "m": m, "u": u}


def nadam_step(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3):
    """One Nadam step with torch.optim.NAdam's momentum-decay schedule.

        t        = t_prev + 1
        mu_t     = beta1 (1 - 0.5 * 0.96^(t * momentum_decay))
        mu_{t+1} = beta1 (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
        P_t      = P_{t-1} mu_t                       (state["mu_product"], P_0 = 1)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        d_t = sqrt(v_t / (1 - beta2^t)) + eps
        w_t = w_{t-1} - lr (1 - mu_t) / (1 - P_t) * g_t / d_t
                      - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m_t / d_t

    state: dict with t, m, v, mu_product. Returns (w_t, new state dict).
    """
    t = state["t"] + 1
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = state["mu_product"] * mu
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v / (1 - beta2**t)) + eps
    w_new = (
        w
        - (lr * (1 - mu) / (1 - mu_product)) * g / d
        - (lr * mu_next / (1 - mu_product * mu_next)) * m / d
    )
    return w_new, {"t": t, "m": m, "v": v, "mu_product": mu_product}


def amsgrad_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One AMSGrad step (torch.optim.Adam(amsgrad=True) convention).

        m_t    = beta1 m_{t-1} + (1 - beta1) g_t
        v_t    = beta2 v_{t-1} + (1 - beta2) g_t^2
        vmax_t = max(vmax_{t-1}, v_t)                 (raw, not bias-corrected, moments)
        w_t    = w_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(vmax_t) / sqrt(1 - beta2^t) + eps)

    state: dict with t, m, v, v_max. Returns (w_t, new state dict).
    """
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_max = np.maximum(state["v_max"], v)
    d = np.sqrt(v_max) / math.sqrt(1 - beta2**t) + eps
    w_new = w - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v, "v_max": v_max}


def adamw_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    """One AdamW step (decoupled weight decay, torch.optim.AdamW convention).

        w'  = w_{t-1} (1 - lr lambda)                  (decay, outside the adaptive step)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t          (g_t without any decay term)
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        w_t = w' - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    state: dict with t, m, v. Returns (w_t, new state dict).
    """
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    w_new = w * (1 - lr * weight_decay) - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v}


def sgdr_lr(k, lr, T_0, T_mult=1, eta_min=0.0):
    """Learning rate of step k (k = 0, 1, ...) under cosine annealing with warm restarts
    (SGDR; torch.optim.lr_scheduler.CosineAnnealingWarmRestarts).

    Cycle i lasts T_i = T_0 T_mult^i steps; T_cur counts the steps since the last restart:

        eta_k = eta_min + (lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2

    so a cycle starts at lr (T_cur = 0) and restarts when T_cur reaches T_i.
    """
    for name, value, low in (("k", k, 0), ("T_0", T_0, 1), ("T_mult", T_mult, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if T_mult == 1:
        t_cur, t_i = k % T_0, T_0
    else:
        # Integer arithmetic: a floating-point logarithm misplaces restarts at the boundaries.
        t_cur, t_i = k, T_0
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def warmup_rsqrt_lr(k, lr, warmup_steps):
    """Linear warm-up then inverse-square-root decay (the Transformer schedule scaled to peak
    at lr). With s = k + 1 the number of the step being taken:

        eta_k = lr * min(s / warmup_steps, sqrt(warmup_steps / s))

    It rises linearly to lr at s = warmup_steps and then decays like 1 / sqrt(s).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) or warmup_steps < 1:
        raise ValueError(f"warmup_steps must be an integer >= 1, got {warmup_steps!r}")
    s = k + 1
    return lr * min(s / warmup_steps, math.sqrt(warmup_steps / s))


# ----------------------------------------------------------------------------------------
# Known mistakes (each a complete function with the graded signature)
# ----------------------------------------------------------------------------------------


def adamax_l2_norm(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.sqrt(beta2 * state["u"] ** 2 + (1 - beta2) * g**2)
    w_new = w - (lr / (1 - beta1**t)) * m / (u + eps)
    return w_new, {"t": t, "m": m, "u": u}


def adamax_eps_outside(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(beta2 * state["u"], np.abs(g))
    w_new = w - (lr / (1 - beta1**t)) * m / (u + eps)
    return w_new, {"t": t, "m": m, "u": u}


def adamax_no_bias_correction(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(beta2 * state["u"], np.abs(g) + eps)
    w_new = w - lr * m / u
    return w_new, {"t": t, "m": m, "u": u}


def adamax_sign_error(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    u = np.maximum(beta2 * state["u"], np.abs(g) + eps)
    w_new = w + (lr / (1 - beta1**t)) * m / u
    return w_new, {"t": t, "m": m, "u": u}


def nadam_constant_momentum(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3):
    t = state["t"] + 1
    mu = mu_next = beta1
    mu_product = state["mu_product"] * mu
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v / (1 - beta2**t)) + eps
    w_new = (
        w
        - (lr * (1 - mu) / (1 - mu_product)) * g / d
        - (lr * mu_next / (1 - mu_product * mu_next)) * m / d
    )
    return w_new, {"t": t, "m": m, "v": v, "mu_product": mu_product}


def nadam_plain_adam(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3):
    t = state["t"] + 1
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_product = state["mu_product"] * mu
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v / (1 - beta2**t)) + eps
    w_new = w - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v, "mu_product": mu_product}


def nadam_no_lookahead(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3):
    t = state["t"] + 1
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_product = state["mu_product"] * mu
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v / (1 - beta2**t)) + eps
    w_new = w - (lr * (1 - mu) / (1 - mu_product)) * g / d - (lr * mu / (1 - mu_product)) * m / d
    return w_new, {"t": t, "m": m, "v": v, "mu_product": mu_product}


def nadam_no_bias_correction(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3):
    t = state["t"] + 1
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = state["mu_product"] * mu
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v) + eps
    w_new = (
        w
        - (lr * (1 - mu) / (1 - mu_product)) * g / d
        - (lr * mu_next / (1 - mu_product * mu_next)) * m / d
    )
    return w_new, {"t": t, "m": m, "v": v, "mu_product": mu_product}


def amsgrad_max_of_corrected(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_max = np.maximum(state["v_max"], v / (1 - beta2**t))
    w_new = w - (lr / (1 - beta1**t)) * m / (np.sqrt(v_max) + eps)
    return w_new, {"t": t, "m": m, "v": v, "v_max": v_max}


def amsgrad_divides_by_v(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_max = np.maximum(state["v_max"], v)
    d = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    w_new = w - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v, "v_max": v_max}


def amsgrad_no_bias_correction(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    v_max = np.maximum(state["v_max"], v)
    w_new = w - lr * m / (np.sqrt(v_max) + eps)
    return w_new, {"t": t, "m": m, "v": v, "v_max": v_max}


def adamw_as_l2(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state["t"] + 1
    g = g + weight_decay * w
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    w_new = w - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v}


def adamw_decay_without_lr(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    w_new = w * (1 - weight_decay) - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v}


def adamw_decay_sign(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    w_new = w * (1 + lr * weight_decay) - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v}


def adamw_no_bias_correction(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    w_new = w * (1 - lr * weight_decay) - lr * m / (np.sqrt(v) + eps)
    return w_new, {"t": t, "m": m, "v": v}


def adamw_t_not_incremented(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    t = state["t"]
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    d = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    w_new = w * (1 - lr * weight_decay) - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v}


def adamw_float64(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    w, g = np.asarray(w, dtype=float), np.asarray(g, dtype=float)
    t = state["t"] + 1
    m = beta1 * np.asarray(state["m"], dtype=float) + (1 - beta1) * g
    v = beta2 * np.asarray(state["v"], dtype=float) + (1 - beta2) * g * g
    d = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    w_new = w * (1 - lr * weight_decay) - (lr / (1 - beta1**t)) * m / d
    return w_new, {"t": t, "m": m, "v": v}


def sgdr_late_restart(k, lr, T_0, T_mult=1, eta_min=0.0):
    t_cur, t_i = k, T_0
    while t_cur > t_i:
        t_cur -= t_i
        t_i *= T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def sgdr_ignores_t_mult(k, lr, T_0, T_mult=1, eta_min=0.0):
    t_cur = k % T_0
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / T_0)) / 2


def sgdr_reaches_min_in_cycle(k, lr, T_0, T_mult=1, eta_min=0.0):
    t_cur, t_i = k, T_0
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / (t_i - 1))) / 2


def warmup_from_zero(k, lr, warmup_steps):
    if k == 0:
        return 0.0
    return lr * min(k / warmup_steps, math.sqrt(warmup_steps / k))


def warmup_unnormalised_decay(k, lr, warmup_steps):
    s = k + 1
    return lr * min(s / warmup_steps, 1 / math.sqrt(s))


VARIANTS = {
    "adamax_step": [
        Variant(
            "adamax_l2_norm",
            "AdaMax with an L2 (root-mean-square) average u_t = sqrt(beta2 u_{t-1}^2 + "
            "(1 - beta2) g_t^2) instead of the infinity norm u_t = max(beta2 u_{t-1}, |g_t| + eps)",
            adamax_l2_norm,
            frozenset({"adamax_state", "adamax_update"}),
        ),
        Variant(
            "adamax_eps_outside",
            "AdaMax with eps added to u_t in the denominator instead of inside the max "
            "(torch's convention is u_t = max(beta2 u_{t-1}, |g_t| + eps))",
            adamax_eps_outside,
            frozenset({"adamax_state", "adamax_update"}),
        ),
        Variant(
            "adamax_no_bias_correction",
            "AdaMax without the bias correction 1 / (1 - beta1^t) of the step",
            adamax_no_bias_correction,
            frozenset({"adamax_update"}),
        ),
        Variant(
            "adamax_sign_error",
            "sign error: the step is added to w instead of subtracted",
            adamax_sign_error,
            frozenset({"adamax_update"}),
        ),
    ],
    "nadam_step": [
        Variant(
            "nadam_constant_momentum",
            "Nadam with constant momentum mu_t = beta1 (Dozat's form) instead of torch's "
            "schedule mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay))",
            nadam_constant_momentum,
            frozenset({"nadam_state", "nadam_update"}),
        ),
        Variant(
            "nadam_plain_adam",
            "the parameter update is plain Adam's, without Nesterov's look-ahead terms",
            nadam_plain_adam,
            frozenset({"nadam_update"}),
        ),
        Variant(
            "nadam_no_lookahead",
            "the momentum term uses mu_t and prod_{i<=t} mu_i instead of the look-ahead "
            "mu_{t+1} and prod_{i<=t+1} mu_i",
            nadam_no_lookahead,
            frozenset({"nadam_update"}),
        ),
        Variant(
            "nadam_no_bias_correction",
            "Nadam without the bias correction of v (d_t must be sqrt(v_t / (1 - beta2^t)) + eps)",
            nadam_no_bias_correction,
            frozenset({"nadam_update"}),
        ),
    ],
    "amsgrad_step": [
        Variant(
            "amsgrad_max_of_corrected",
            "AMSGrad taking the max of the bias-corrected v_t / (1 - beta2^t); torch keeps the "
            "max of the raw v_t and divides by sqrt(1 - beta2^t) afterwards",
            amsgrad_max_of_corrected,
            frozenset({"amsgrad_state", "amsgrad_update"}),
        ),
        Variant(
            "amsgrad_divides_by_v",
            "the update divides by sqrt(v_t), not by sqrt(vmax_t) (that is plain Adam)",
            amsgrad_divides_by_v,
            frozenset({"amsgrad_update"}),
        ),
        Variant(
            "amsgrad_no_bias_correction",
            "AMSGrad without the bias corrections 1 - beta1^t and 1 - beta2^t",
            amsgrad_no_bias_correction,
            frozenset({"amsgrad_update"}),
        ),
    ],
    "adamw_step": [
        Variant(
            "adamw_float64",
            "the inputs are converted with np.asarray(..., dtype=float): the values are right, "
            "but float32 parameters come back as float64",
            adamw_float64,
            frozenset({"adamw_contract"}),
        ),
        Variant(
            "adamw_t_not_incremented",
            "the step counter is never incremented (t = state['t'], not state['t'] + 1): at the "
            "first step the bias correction divides by 1 - beta^0 = 0 (ZeroDivisionError)",
            adamw_t_not_incremented,
            frozenset({"adamw_state", "adamw_update", "adamw_contract"}),
        ),
        Variant(
            "adamw_as_l2",
            "Adam with L2 regularisation (weight_decay * w added to the gradient) instead of "
            "AdamW's decoupled decay w <- w (1 - lr lambda)",
            adamw_as_l2,
            frozenset({"adamw_state", "adamw_update"}),
        ),
        Variant(
            "adamw_decay_without_lr",
            "the decay is w <- w (1 - lambda), not scaled by the learning rate (torch: 1 - lr lambda)",
            adamw_decay_without_lr,
            frozenset({"adamw_update"}),
        ),
        Variant(
            "adamw_decay_sign",
            "sign error in the decay: w grows as w (1 + lr lambda)",
            adamw_decay_sign,
            frozenset({"adamw_update"}),
        ),
        Variant(
            "adamw_no_bias_correction",
            "AdamW without the bias corrections 1 - beta1^t and 1 - beta2^t",
            adamw_no_bias_correction,
            frozenset({"adamw_update"}),
        ),
    ],
    "sgdr_lr": [
        Variant(
            "sgdr_late_restart",
            "the restart comes one step late (T_cur > T_i instead of T_cur >= T_i): at the end "
            "of a cycle it returns eta_min instead of jumping back to lr",
            sgdr_late_restart,
            frozenset({"sgdr_schedule"}),
        ),
        Variant(
            "sgdr_ignores_t_mult",
            "every cycle has length T_0: T_mult is ignored",
            sgdr_ignores_t_mult,
            frozenset({"sgdr_schedule"}),
        ),
        Variant(
            "sgdr_reaches_min_in_cycle",
            "the cosine uses T_cur / (T_i - 1), reaching eta_min inside the cycle; torch uses T_cur / T_i",
            sgdr_reaches_min_in_cycle,
            frozenset({"sgdr_schedule"}),
        ),
    ],
    "warmup_rsqrt_lr": [
        Variant(
            "warmup_from_zero",
            "the warm-up counts from s = k instead of s = k + 1, so the first step gets "
            "learning rate 0 and the peak comes one step late",
            warmup_from_zero,
            frozenset({"warmup_schedule"}),
        ),
        Variant(
            "warmup_unnormalised_decay",
            "the decay is lr / sqrt(s), not lr * sqrt(warmup_steps / s): the schedule jumps "
            "at the end of the warm-up instead of peaking at lr",
            warmup_unnormalised_decay,
            frozenset({"warmup_schedule"}),
        ),
    ],
}


# ----------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------


def _drive(step_fn, w, grads, state, **hp):
    """Apply ``step_fn`` once per gradient in ``grads``, threading (w, state) through."""
    for g in grads:
        w, state = step_fn(w, g, state, **hp)
    return w, state


def _pick_w(out):
    return out[0]


def _pick_state(keys):
    def pick(out):
        state = out[1]
        return {k: state[k] for k in ("t",) + keys}

    return pick


def _fmt_hp(hp):
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in hp.items())


def _grad_sequence(rng, n, shape, dtype=np.float64, shrinking=False):
    grads = []
    for i in range(n):
        # Shrinking gradients (large first, then small) are where AMSGrad's max differs from Adam.
        scale = 3.0 * 0.6**i if shrinking else 10.0 ** rng.uniform(-2, 1)
        g = rng.normal(size=shape) * scale
        g[rng.random(shape) < 0.1] = 0.0
        grads.append(g.astype(dtype))
    return grads


_EXTRA_HP = {
    "adamax_step": {},
    "amsgrad_step": {},
    "nadam_step": {"momentum_decay": (4e-3, 0.05, 0.5)},
    "adamw_step": {"weight_decay": (1e-2, 0.1, 0.5)},
}

_VISIBLE_HP = {
    "adamax_step": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-3},
    "nadam_step": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "momentum_decay": 0.05},
    "amsgrad_step": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8},
    "adamw_step": {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.5},
}


def _sample_hp(rng, name):
    hp = {
        "lr": float(10 ** rng.uniform(-3, -0.5)),
        "beta1": float(rng.choice([0.0, 0.5, 0.9, 0.95])),
        "beta2": float(rng.choice([0.9, 0.99, 0.999])),
        "eps": float(rng.choice([1e-8, 1e-3, 0.1])),
    }
    for key, choices in _EXTRA_HP[name].items():
        hp[key] = float(rng.choice(choices))
    return hp


def _visible_cases(name):
    hp = _VISIBLE_HP[name]
    w = np.array([1.0, -2.0, 0.5, 3.0])
    grads = [np.array([0.1, -0.3, 2.0, 0.0]), np.array([-0.2, -0.1, 0.5, 1.0]),
             np.array([0.05, 0.4, -1.0, 0.2])]
    cases = [
        Case(f"one step from the initial state, {_fmt_hp(hp)}", (w, grads[:1], init_state(name, w)), hp),
        Case(f"three steps from the initial state, {_fmt_hp(hp)}", (w, grads, init_state(name, w)), hp),
    ]
    w = np.array([1.0, -2.0, 0.5])
    shrinking = [np.array([4.0, -3.0, 2.0]), np.array([0.1, 0.2, -0.1]), np.array([0.05, -0.1, 0.02])]
    cases.append(Case(f"three steps with shrinking gradients, {_fmt_hp(hp)}",
                      (w, shrinking, init_state(name, w)), hp))
    return cases


def _hidden_cases(name, seed):
    rng = case_rng(seed)
    cases = []
    for n, shape, shrinking in [(1, (1,), False), (2, (5,), False), (7, (3, 4), True),
                                (20, (2, 3, 2), False), (12, (6,), True)]:
        hp = _sample_hp(rng, name)
        w = rng.normal(size=shape)
        grads = _grad_sequence(rng, n, shape, shrinking=shrinking)
        cases.append(Case(f"{n} steps, w of shape {shape}, {_fmt_hp(hp)}", (w, grads, init_state(name, w)), hp))
    hp = _sample_hp(rng, name)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    grads = _grad_sequence(rng, 5, (4, 3), dtype=np.float32)
    cases.append(Case(f"5 steps in float32, {_fmt_hp(hp)}", (w, grads, init_state(name, w)), hp))
    return cases


_REFERENCE = {
    "adamax_step": adamax_step,
    "nadam_step": nadam_step,
    "amsgrad_step": amsgrad_step,
    "adamw_step": adamw_step,
}


def _step_checks(name, what, seed):
    """(visible, hidden) checks of the state (``what="state"``) or of w (``"update"``)."""
    keys = _STATE_KEYS[name] + (("mu_product",) if name == "nadam_step" else ())
    select = _pick_state(keys) if what == "state" else _pick_w
    label = f"{name} ({'new state' if what == 'state' else 'new w'})"
    common = dict(variants=VARIANTS[name], select=select, driver=_drive)
    visible, _ = make_check(label, _REFERENCE[name], lambda: _visible_cases(name), (), tol=F64, **common)
    hidden64, _ = make_check(label, _REFERENCE[name], lambda: [c for c in _hidden_cases(name, seed) if "float32" not in c.label],
                             (), tol=F64, **common)
    # float32 values at float32's tolerance; the dtype itself is the contract check's
    # (a float64 result costs that one part, not every part).
    hidden32, _ = make_check(label, _REFERENCE[name], lambda: [c for c in _hidden_cases(name, seed) if "float32" in c.label],
                             (), tol=F32, **common)

    return visible, combine((None, hidden64), (None, hidden32))[1]


def _contract_cases(name, seed):
    rng = case_rng(seed)
    cases = []
    for dtype in (np.float32, np.float64):
        hp = _sample_hp(rng, name)
        w = rng.normal(size=(3, 2)).astype(dtype)
        grads = _grad_sequence(rng, 3, (3, 2), dtype=dtype)
        cases.append(Case(f"3 steps in {np.dtype(dtype).name}, {_fmt_hp(hp)}", (w, grads, init_state(name, w)), hp))
    return cases


def _contract_check(name, seed):
    """The stated contract: the dtype of w is kept (float32 stays float32) and the inputs,
    the state's arrays included, are not modified in place."""
    return make_check(f"{name} (dtype kept, inputs unchanged)", _REFERENCE[name],
                      lambda: _contract_cases(name, seed)[:1], lambda: _contract_cases(name, seed + 1),
                      variants=VARIANTS[name], driver=_drive, check_dtype=True, no_mutation=True,
                      values=False)


check_adamax_state, check_adamax_state_hidden = _step_checks("adamax_step", "state", 4101)
check_adamax_update, check_adamax_update_hidden = _step_checks("adamax_step", "update", 4102)
check_nadam_state, check_nadam_state_hidden = _step_checks("nadam_step", "state", 4103)
check_nadam_update, check_nadam_update_hidden = _step_checks("nadam_step", "update", 4104)
check_amsgrad_state, check_amsgrad_state_hidden = _step_checks("amsgrad_step", "state", 4105)
check_amsgrad_update, check_amsgrad_update_hidden = _step_checks("amsgrad_step", "update", 4106)
check_adamw_state, check_adamw_state_hidden = _step_checks("adamw_step", "state", 4107)
check_adamw_update, check_adamw_update_hidden = _step_checks("adamw_step", "update", 4108)
check_adamax_contract, check_adamax_contract_hidden = _contract_check("adamax_step", 4121)
check_nadam_contract, check_nadam_contract_hidden = _contract_check("nadam_step", 4123)
check_amsgrad_contract, check_amsgrad_contract_hidden = _contract_check("amsgrad_step", 4125)
check_adamw_contract, check_adamw_contract_hidden = _contract_check("adamw_step", 4127)


def _schedule_cases(fields, rows):
    return [Case(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in zip(fields, row)), row)
            for row in rows]


_SGDR_FIELDS = ("k", "lr", "T_0", "T_mult", "eta_min")


def _sgdr_visible():
    rows = [(k, 0.1, 5, 1, 0.0) for k in (0, 1, 2, 4, 5, 6, 10)]
    rows += [(k, 0.1, 2, 2, 0.001) for k in (0, 1, 2, 3, 5, 6, 13, 14)]
    return _schedule_cases(_SGDR_FIELDS, rows)


def _sgdr_hidden(seed=4109):
    rng = case_rng(seed)
    rows = []
    for T_0, T_mult in ((1, 1), (1, 2), (3, 3), (7, 1), (4, 2), (10, 2)):
        lr = float(10 ** rng.uniform(-3, 0))
        eta_min = float(rng.choice([0.0, lr / 100]))
        # Every restart boundary and its neighbours, then random steps.
        ks, length, start = set(), T_0, 0
        while start < 2000:
            ks |= {start - 1, start, start + 1}
            start += length
            length *= T_mult
        ks |= {int(k) for k in rng.integers(0, 3000, size=5)}
        rows += [(k, lr, T_0, T_mult, eta_min) for k in sorted(k for k in ks if k >= 0)]
    return _schedule_cases(_SGDR_FIELDS, rows)


check_sgdr_schedule, check_sgdr_schedule_hidden = make_check(
    "sgdr_lr", sgdr_lr, _sgdr_visible, _sgdr_hidden, tol=F64, variants=VARIANTS["sgdr_lr"])


def _warmup_visible():
    return _schedule_cases(("k", "lr", "warmup_steps"), [(k, 0.01, 4) for k in (0, 1, 2, 3, 4, 8, 99)])


def _warmup_hidden(seed=4110):
    rng = case_rng(seed)
    rows = []
    for warmup in (1, 2, 10, 4000):
        lr = float(10 ** rng.uniform(-4, -1))
        ks = {0, warmup - 2, warmup - 1, warmup, warmup + 1, 3 * warmup}
        ks |= {int(k) for k in rng.integers(0, 5 * warmup + 2, size=4)}
        rows += [(k, lr, warmup) for k in sorted(k for k in ks if k >= 0)]
    return _schedule_cases(("k", "lr", "warmup_steps"), rows)


check_warmup_schedule, check_warmup_schedule_hidden = make_check(
    "warmup_rsqrt_lr", warmup_rsqrt_lr, _warmup_visible, _warmup_hidden, tol=F64,
    variants=VARIANTS["warmup_rsqrt_lr"])


# ----------------------------------------------------------------------------- the graded parts

#: every graded part, in the order of the notebook (its id is the grade_id of the test cell)
GRADED = [
    Check("adamax_state", 2, "adamax_step", check_adamax_state, check_adamax_state_hidden),
    Check("adamax_update", 1, "adamax_step", check_adamax_update, check_adamax_update_hidden),
    Check("adamax_contract", 1, "adamax_step", check_adamax_contract, check_adamax_contract_hidden),
    Check("nadam_state", 1, "nadam_step", check_nadam_state, check_nadam_state_hidden),
    Check("nadam_update", 2, "nadam_step", check_nadam_update, check_nadam_update_hidden),
    Check("nadam_contract", 1, "nadam_step", check_nadam_contract, check_nadam_contract_hidden),
    Check("amsgrad_state", 2, "amsgrad_step", check_amsgrad_state, check_amsgrad_state_hidden),
    Check("amsgrad_update", 1, "amsgrad_step", check_amsgrad_update, check_amsgrad_update_hidden),
    Check("amsgrad_contract", 1, "amsgrad_step", check_amsgrad_contract, check_amsgrad_contract_hidden),
    Check("adamw_state", 1, "adamw_step", check_adamw_state, check_adamw_state_hidden),
    Check("adamw_update", 1, "adamw_step", check_adamw_update, check_adamw_update_hidden),
    Check("adamw_contract", 1, "adamw_step", check_adamw_contract, check_adamw_contract_hidden),
    Check("sgdr_schedule", 3, "sgdr_lr", check_sgdr_schedule, check_sgdr_schedule_hidden),
    Check("warmup_schedule", 2, "warmup_rsqrt_lr", check_warmup_schedule, check_warmup_schedule_hidden),
]
CHECKS, FUNCTIONS = table(GRADED)
