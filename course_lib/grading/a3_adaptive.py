"""Checks for assignment 3, adaptive learning rates (torch.optim conventions).

Graded functions; every state is a dict and every step returns ``(w_new, state_new)``
without touching its inputs:

- ``adagrad_step(w, g, state, lr=1e-2, eps=1e-10)``, state ``{"G"}``:
  :math:`G_t = G_{t-1} + g_t^2,\\; w_t = w_{t-1} - \\eta\\, g_t / (\\sqrt{G_t} + \\epsilon)`.
- ``rmsprop_step(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8)``, state ``{"v"}``:
  :math:`v_t = \\alpha v_{t-1} + (1-\\alpha) g_t^2,\\; w_t = w_{t-1} - \\eta\\, g_t/(\\sqrt{v_t}+\\epsilon)`.
- ``adadelta_step(w, g, state, lr=1.0, rho=0.9, eps=1e-6)``, state ``{"v", "u"}``:
  :math:`v_t = \\rho v_{t-1} + (1-\\rho) g_t^2,\\;
  \\Delta_t = \\sqrt{u_{t-1}+\\epsilon}/\\sqrt{v_t+\\epsilon}\\, g_t,\\;
  u_t = \\rho u_{t-1} + (1-\\rho)\\Delta_t^2,\\; w_t = w_{t-1} - \\eta \\Delta_t`.
- ``adam_init(w)`` -> ``{"m": 0, "v": 0, "t": 0}`` and
  ``adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)``:
  :math:`t \\leftarrow t+1,\\; m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t,\\;
  v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2,\\;
  w_t = w_{t-1} - \\eta\\, \\hat m_t / (\\sqrt{\\hat v_t} + \\epsilon)` with
  :math:`\\hat m_t = m_t/(1-\\beta_1^t)`, :math:`\\hat v_t = v_t/(1-\\beta_2^t)`.
"""
from __future__ import annotations

import numpy as np

from .core import Case, Check, Tolerance, Variant, case_rng, make_check, table


# ----------------------------------------------------------------------------- references


def adagrad_init(w):
    return {"G": np.zeros_like(w)}


def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):
    G = state["G"] + g * g
    return w - lr * g / (np.sqrt(G) + eps), {"G": G}


def rmsprop_init(w):
    return {"v": np.zeros_like(w)}


def rmsprop_step(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * state["v"] + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(v) + eps), {"v": v}


def adadelta_init(w):
    return {"v": np.zeros_like(w), "u": np.zeros_like(w)}


def adadelta_step(w, g, state, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * state["v"] + (1 - rho) * g * g
    delta = np.sqrt(state["u"] + eps) / np.sqrt(v + eps) * g
    u = rho * state["u"] + (1 - rho) * delta * delta
    return w - lr * delta, {"v": v, "u": u}


def adam_init(w):
    return {"m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0}


def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


# ----------------------------------------------------------------------------- variants


def adagrad_eps_inside(w, g, state, lr=1e-2, eps=1e-10):
    G = state["G"] + g * g
    return w - lr * g / np.sqrt(G + eps), {"G": G}


def adagrad_no_sqrt(w, g, state, lr=1e-2, eps=1e-10):
    G = state["G"] + g * g
    return w - lr * g / (G + eps), {"G": G}


def adagrad_sign(w, g, state, lr=1e-2, eps=1e-10):
    G = state["G"] + g * g
    return w + lr * g / (np.sqrt(G) + eps), {"G": G}


def rmsprop_adagrad_sum(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    v = state["v"] + g * g
    return w - lr * g / (np.sqrt(v) + eps), {"v": v}


def rmsprop_eps_inside(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * state["v"] + (1 - alpha) * g * g
    return w - lr * g / np.sqrt(v + eps), {"v": v}


def rmsprop_swapped_alpha(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * state["v"] + alpha * g * g
    return w - lr * g / (np.sqrt(v) + eps), {"v": v}


def rmsprop_lr_twice(w, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * state["v"] + (1 - alpha) * g * g
    return w - lr * lr * g / (np.sqrt(v) + eps), {"v": v}


def adadelta_order_swapped(w, g, state, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * state["v"] + (1 - rho) * g * g
    first = np.sqrt(state["u"] + eps) / np.sqrt(v + eps) * g
    u = rho * state["u"] + (1 - rho) * first * first
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    return w - lr * delta, {"v": v, "u": u}


def adadelta_no_eps_numerator(w, g, state, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * state["v"] + (1 - rho) * g * g
    delta = np.sqrt(state["u"]) / np.sqrt(v + eps) * g
    u = rho * state["u"] + (1 - rho) * delta * delta
    return w - lr * delta, {"v": v, "u": u}


def adadelta_rmsprop_step(w, g, state, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * state["v"] + (1 - rho) * g * g
    delta = g / np.sqrt(v + eps)
    u = rho * state["u"] + (1 - rho) * delta * delta
    return w - lr * delta, {"v": v, "u": u}


def adam_init_t1(w):
    return {"m": np.zeros_like(w), "v": np.zeros_like(w), "t": 1}


def adam_init_float64(w):
    return {"m": np.zeros(w.shape), "v": np.zeros(w.shape), "t": 0}


def adam_no_bias_correction(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    return w - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v, "t": t}


def adam_eps_inside(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / np.sqrt(v_hat + eps), {"m": m, "v": v, "t": t}


def adam_t_from_zero(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"]
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w_new, {"m": m, "v": v, "t": t + 1}


def adam_t_not_incremented(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"]
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w_new, {"m": m, "v": v, "t": t}


def adam_bias_t_plus_one(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** (t + 1))
    v_hat = v / (1 - beta2 ** (t + 1))
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def adam_sign(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w + lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def adam_lr_twice(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * lr * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def adam_swapped_betas(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = beta2 * state["m"] + (1 - beta2) * g
    v = beta1 * state["v"] + (1 - beta1) * g * g
    m_hat = m / (1 - beta2**t)
    v_hat = v / (1 - beta1**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def adam_in_place(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    state["t"] += 1
    state["m"] *= beta1
    state["m"] += (1 - beta1) * g
    state["v"] *= beta2
    state["v"] += (1 - beta2) * g * g
    t = state["t"]
    m_hat = state["m"] / (1 - beta1**t)
    v_hat = state["v"] / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), dict(state)


VARIANTS = {
    "adagrad_step": [
        Variant("eps_inside", "epsilon inside the square root, sqrt(G + eps)", adagrad_eps_inside,
                frozenset({"adagrad"})),
        Variant("no_sqrt", "dividing by G instead of sqrt(G)", adagrad_no_sqrt, frozenset({"adagrad"})),
        Variant("sign", "sign error: w + lr g / (sqrt(G) + eps)", adagrad_sign, frozenset({"adagrad"})),
    ],
    "rmsprop_step": [
        Variant("adagrad_sum", "RMSProp with AdaGrad's running sum v + g^2 instead of the "
                "exponential average", rmsprop_adagrad_sum, frozenset({"rmsprop"})),
        Variant("eps_inside", "epsilon inside the square root, sqrt(v + eps)", rmsprop_eps_inside,
                frozenset({"rmsprop"})),
        Variant("swapped_alpha", "alpha and 1 - alpha swapped in the average", rmsprop_swapped_alpha,
                frozenset({"rmsprop"})),
        Variant("lr_twice", "the learning rate applied twice", rmsprop_lr_twice, frozenset({"rmsprop"})),
    ],
    "adadelta_step": [
        Variant("order_swapped", "AdaDelta with the update and the accumulator order swapped "
                "(the step uses the already updated u_t)", adadelta_order_swapped,
                frozenset({"adadelta"})),
        Variant("no_eps_numerator", "no epsilon in sqrt(u + eps): the first step, and every "
                "later one, is zero", adadelta_no_eps_numerator, frozenset({"adadelta"})),
        Variant("rmsprop_step", "an RMSProp step g / sqrt(v + eps) without the sqrt(u + eps) "
                "units correction", adadelta_rmsprop_step, frozenset({"adadelta"})),
    ],
    "adam_init": [
        Variant("t1", "the step counter starting at 1 in adam_init (t counts steps taken: 0)",
                adam_init_t1, frozenset({"adam_init"})),
        Variant("float64", "np.zeros(w.shape) makes float64 moments for float32 w",
                adam_init_float64, frozenset({"adam_init"})),
    ],
    "adam_step": [
        Variant("no_bias_correction", "Adam without bias correction (m and v used directly)",
                adam_no_bias_correction, frozenset({"adam_update"})),
        Variant("eps_inside", "epsilon inside the square root, sqrt(v_hat + eps)", adam_eps_inside,
                frozenset({"adam_update"})),
        Variant("t_from_zero", "the step counter starting at 0: bias correction with t - 1 "
                "(division by zero at the first step)", adam_t_from_zero,
                frozenset({"adam_update"})),
        Variant("t_not_incremented", "the step counter is never incremented (t = state['t'], "
                "not state['t'] + 1): t stays 0 and the bias correction divides by 1 - beta^0 = 0",
                adam_t_not_incremented, frozenset({"adam_moments", "adam_update", "adam_contract"})),
        Variant("bias_t_plus_one", "the bias correction uses beta^(t + 1) after t was already "
                "incremented (it is 1 - beta^t with the new t)", adam_bias_t_plus_one,
                frozenset({"adam_update"})),
        Variant("sign", "sign error: w + lr m_hat / (sqrt(v_hat) + eps)", adam_sign,
                frozenset({"adam_update"})),
        Variant("lr_twice", "the learning rate applied twice (lr inside m and in the step)",
                adam_lr_twice, frozenset({"adam_moments", "adam_update"})),
        Variant("swapped_betas", "beta1 and beta2 swapped", adam_swapped_betas,
                frozenset({"adam_moments", "adam_update"})),
        Variant("in_place", "updating the state's arrays in place (the caller's state changes)",
                adam_in_place, frozenset({"adam_contract"})),
    ],
}

# ----------------------------------------------------------------------------- drivers


def _run(fn, init, w0, grads, hyper):
    """Run ``fn`` over the gradients from ``init(w0)``; stack w and every state entry."""
    w, state = w0, init(w0)
    ws, states = [], []
    for g in grads:
        w, state = fn(w, g, state, **hyper)
        ws.append(np.array(w, copy=True))
        states.append({k: np.array(v, copy=True) for k, v in state.items()})
    keys = init(w0).keys()
    return np.stack(ws), {k: np.stack([s[k] for s in states]) for k in keys}


def _adagrad(fn, w0, grads, hyper):
    return _run(fn, adagrad_init, w0, grads, hyper)


def _rmsprop(fn, w0, grads, hyper):
    return _run(fn, rmsprop_init, w0, grads, hyper)


def _adadelta(fn, w0, grads, hyper):
    return _run(fn, adadelta_init, w0, grads, hyper)


def _adam(fn, w0, grads, hyper):
    return _run(fn, adam_init, w0, grads, hyper)


# ----------------------------------------------------------------------------- cases

_TOL = Tolerance(rtol=1e-6, atol=1e-9)


def _cases(seed, specs):
    """specs: (shape, steps, dtype, hyper, zero_first, grad_scale)."""
    rng = case_rng(seed)
    out = []
    for shape, steps, dtype, hyper, zero_first, scale in specs:
        grads = (scale * rng.standard_normal((steps, *shape))).astype(dtype)
        if zero_first:
            grads[0] = 0
        hp = ", ".join(f"{k} = {v:g}" for k, v in hyper.items())
        label = (f"{np.dtype(dtype).name} w of shape {shape}, {steps} steps, {hp}"
                 + (", first gradient zero" if zero_first else "")
                 + (f", gradients of size ~{scale:g}" if scale != 1 else ""))
        w0 = rng.standard_normal(shape).astype(dtype)
        out.append(Case(label, (w0, list(grads), hyper)))
    return out


f32, f64 = np.float32, np.float64


def _adagrad_visible():
    return _cases(1, [((3,), 3, f64, {"lr": 0.1, "eps": 1e-10}, False, 1.0),
                      ((2,), 2, f64, {"lr": 0.1, "eps": 0.1}, False, 0.1)])


def _adagrad_hidden():
    return _cases(2, [((2, 3), 5, f64, {"lr": 0.05, "eps": 1e-10}, False, 1.0),
                      ((4,), 4, f64, {"lr": 0.1, "eps": 1e-2}, True, 0.05),
                      ((3,), 3, f32, {"lr": 0.1, "eps": 1e-3}, False, 1.0),
                      ((1,), 1, f64, {"lr": 1.0, "eps": 1e-10}, False, 1.0)])


check_adagrad, check_adagrad_hidden = make_check(
    "adagrad_step (w and G over several steps)", adagrad_step, _adagrad_visible,
    _adagrad_hidden, tol=_TOL, variants=VARIANTS["adagrad_step"], driver=_adagrad,
    check_dtype=True)


def _rmsprop_visible():
    return _cases(11, [((3,), 3, f64, {"lr": 0.01, "alpha": 0.9, "eps": 1e-8}, False, 1.0),
                       ((2,), 2, f64, {"lr": 0.01, "alpha": 0.99, "eps": 1e-2}, False, 0.1)])


def _rmsprop_hidden():
    return _cases(12, [((2, 2), 6, f64, {"lr": 0.001, "alpha": 0.99, "eps": 1e-8}, False, 1.0),
                       ((3,), 4, f64, {"lr": 0.1, "alpha": 0.5, "eps": 1e-3}, True, 0.05),
                       ((5,), 3, f32, {"lr": 0.01, "alpha": 0.9, "eps": 1e-3}, False, 1.0)])


check_rmsprop, check_rmsprop_hidden = make_check(
    "rmsprop_step (w and v over several steps)", rmsprop_step, _rmsprop_visible,
    _rmsprop_hidden, tol=_TOL, variants=VARIANTS["rmsprop_step"], driver=_rmsprop,
    check_dtype=True)


def _adadelta_visible():
    return _cases(21, [((3,), 4, f64, {"lr": 1.0, "rho": 0.9, "eps": 1e-6}, False, 1.0)])


def _adadelta_hidden():
    return _cases(22, [((2, 3), 6, f64, {"lr": 1.0, "rho": 0.95, "eps": 1e-6}, False, 1.0),
                       ((4,), 3, f64, {"lr": 0.5, "rho": 0.9, "eps": 1e-3}, True, 0.1),
                       ((3,), 3, f32, {"lr": 1.0, "rho": 0.9, "eps": 1e-4}, False, 1.0)])


check_adadelta, check_adadelta_hidden = make_check(
    "adadelta_step (w, v and u over several steps)", adadelta_step, _adadelta_visible,
    _adadelta_hidden, tol=_TOL, variants=VARIANTS["adadelta_step"], driver=_adadelta,
    check_dtype=True)


def _init_cases():
    rng = case_rng(31)
    return [Case("float64 w of shape (3,)", (rng.standard_normal(3),)),
            Case("float32 w of shape (2, 2)", (rng.standard_normal((2, 2)).astype(f32),))]


check_adam_init, check_adam_init_hidden = make_check(
    "adam_init", adam_init, lambda: _init_cases()[:1], _init_cases, tol=_TOL,
    variants=VARIANTS["adam_init"], check_dtype=True, no_mutation=True)


def _adam_visible():
    return _cases(41, [((3,), 3, f64, {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, False, 1.0),
                       ((2,), 2, f64, {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-2}, False, 0.1)])


def _adam_hidden():
    return _cases(42, [((1,), 1, f64, {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, False, 1.0),
                       ((2, 3), 8, f64, {"lr": 0.001, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8}, False, 1.0),
                       ((4,), 4, f64, {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-3}, True, 0.05),
                       ((3,), 5, f32, {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-3}, False, 1.0)])


check_adam_moments, check_adam_moments_hidden = make_check(
    "adam_step (m, v and t over several steps)", adam_step, _adam_visible, _adam_hidden,
    tol=_TOL, variants=VARIANTS["adam_step"], driver=_adam, select=lambda out: out[1])

# The parameters themselves, against the reference on the same inputs (never against the
# moments the function returns: w unchanged with m = v = 0 would be "consistent"); wrong
# moments therefore cost this check too.
check_adam_update, check_adam_update_hidden = make_check(
    "adam_step (parameters w over several steps)", adam_step, _adam_visible, _adam_hidden,
    tol=_TOL, variants=VARIANTS["adam_step"], driver=_adam, select=lambda out: out[0])


def _adam_contract_cases():
    rng = case_rng(51)
    out = []
    for dtype, shape in [(f32, (3,)), (f64, (2, 2))]:
        w = rng.standard_normal(shape).astype(dtype)
        state = {"m": (0.1 * rng.standard_normal(shape)).astype(dtype),
                 "v": (0.01 * rng.random(shape)).astype(dtype), "t": 3}
        out.append(Case(f"one step from t = 3, {np.dtype(dtype).name} w, g, m, v of shape {shape}",
                        (w, rng.standard_normal(shape).astype(dtype), state)))
    return out


check_adam_contract, check_adam_contract_hidden = make_check(
    "adam_step (dtype kept, inputs unchanged)", adam_step,
    lambda: _adam_contract_cases()[:1], _adam_contract_cases,
    variants=VARIANTS["adam_step"], check_dtype=True, no_mutation=True, values=False)


# ----------------------------------------------------------------------------- the graded parts

#: every graded part, in the order of the notebook (its id is the grade_id of the test cell)
GRADED = [
    Check("adagrad", 2, "adagrad_step", check_adagrad, check_adagrad_hidden),
    Check("rmsprop", 2, "rmsprop_step", check_rmsprop, check_rmsprop_hidden),
    Check("adadelta", 2, "adadelta_step", check_adadelta, check_adadelta_hidden),
    Check("adam_init", 1, "adam_init", check_adam_init, check_adam_init_hidden),
    Check("adam_moments", 2, "adam_step", check_adam_moments, check_adam_moments_hidden),
    Check("adam_update", 2, "adam_step", check_adam_update, check_adam_update_hidden),
    Check("adam_contract", 1, "adam_step", check_adam_contract, check_adam_contract_hidden),
]
CHECKS, FUNCTIONS = table(GRADED)
