"""Checks for assignment 2, momentum and Nesterov's accelerated gradient.

Graded functions (state is a dict ``{"v": velocity}``, initial velocity zero):

- ``momentum_step(w, g, state, lr, mu)``: heavy ball in torch's convention,
  :math:`v_t = \\mu v_{t-1} + g_t,\\; w_t = w_{t-1} - \\eta v_t`.
- ``nag_lookahead_step(w, grad, state, lr, mu)``: Nesterov with the look-ahead gradient,
  :math:`v_t = \\mu v_{t-1} + \\nabla f(w_{t-1} - \\eta\\mu v_{t-1}),\\; w_t = w_{t-1} - \\eta v_t`.
- ``nag_step(w, g, state, lr, mu)``: the form frameworks implement (torch ``nesterov=True``),
  :math:`v_t = \\mu v_{t-1} + g_t,\\; w_t = w_{t-1} - \\eta (g_t + \\mu v_t)`.
- ``polyak_parameters(L, ell)``: the optimal heavy-ball hyperparameters on a quadratic,
  :math:`\\eta = 4/(\\sqrt L + \\sqrt\\ell)^2,\\; \\mu = ((\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1))^2`.
- ``iterations_to_tolerance(A, w0, lr, mu, tol, max_iters=100_000)``: heavy-ball steps on
  :math:`\\tfrac12 w^\\top A w` until :math:`\\|A w_k\\|_2 \\le` tol (tested before each step).
"""
from __future__ import annotations

import numpy as np

from .core import (Case, Check, QuadraticGradient, Tolerance, Variant, case_rng, make_check, spd_matrix,
                   table)


# ----------------------------------------------------------------------------- references


def momentum_init(w):
    return {"v": np.zeros_like(w)}


def momentum_step(w, g, state, lr, mu):
    v = mu * state["v"] + g
    return w - lr * v, {"v": v}


def nag_lookahead_step(w, grad, state, lr, mu):
    v = mu * state["v"] + grad(w - lr * mu * state["v"])
    return w - lr * v, {"v": v}


def nag_step(w, g, state, lr, mu):
    v = mu * state["v"] + g
    return w - lr * (g + mu * v), {"v": v}


def polyak_parameters(L, ell):
    sL, sl = np.sqrt(L), np.sqrt(ell)
    return float(4.0 / (sL + sl) ** 2), float(((sL - sl) / (sL + sl)) ** 2)


def iterations_to_tolerance(A, w0, lr, mu, tol, max_iters=100_000):
    w = np.array(w0, dtype=np.float64, copy=True)
    v = np.zeros_like(w)
    for k in range(max_iters):
        g = A @ w
        if np.linalg.norm(g) <= tol:
            return k
        v = mu * v + g
        w = w - lr * v
    return max_iters


# ----------------------------------------------------------------------------- variants


def momentum_ema(w, g, state, lr, mu):
    v = mu * state["v"] + (1 - mu) * g
    return w - lr * v, {"v": v}


def momentum_lr_twice(w, g, state, lr, mu):
    v = mu * state["v"] + lr * g
    return w - lr * v, {"v": v}


def momentum_sign(w, g, state, lr, mu):
    v = mu * state["v"] + g
    return w + lr * v, {"v": v}


def momentum_old_velocity(w, g, state, lr, mu):
    v = mu * state["v"] + g
    return w - lr * state["v"], {"v": v}


def momentum_sutskever(w, g, state, lr, mu):
    v = mu * state["v"] - lr * g
    return w + v, {"v": v}


def momentum_in_place(w, g, state, lr, mu):
    v = state["v"]
    v *= mu
    v += g
    return w - lr * v, {"v": v}


def nag_grad_at_w(w, grad, state, lr, mu):
    v = mu * state["v"] + grad(w)
    return w - lr * v, {"v": v}


def nag_lookahead_plus(w, grad, state, lr, mu):
    v = mu * state["v"] + grad(w + lr * mu * state["v"])
    return w - lr * v, {"v": v}


def nag_lookahead_no_lr(w, grad, state, lr, mu):
    v = mu * state["v"] + grad(w - mu * state["v"])
    return w - lr * v, {"v": v}


def nag_plain_momentum(w, g, state, lr, mu):
    v = mu * state["v"] + g
    return w - lr * v, {"v": v}


def nag_sign(w, g, state, lr, mu):
    v = mu * state["v"] + g
    return w + lr * (g + mu * v), {"v": v}


def polyak_no_square(L, ell):
    sL, sl = np.sqrt(L), np.sqrt(ell)
    return float(4.0 / (sL + sl) ** 2), float((sL - sl) / (sL + sl))


def polyak_gd_rate(L, ell):
    sL, sl = np.sqrt(L), np.sqrt(ell)
    return float(2.0 / (L + ell)), float(((sL - sl) / (sL + sl)) ** 2)


def iters_test_after_step(A, w0, lr, mu, tol, max_iters=100_000):
    w = np.array(w0, dtype=np.float64, copy=True)
    v = np.zeros_like(w)
    for k in range(max_iters):
        v = mu * v + A @ w
        w = w - lr * v
        if np.linalg.norm(A @ w) <= tol:
            return k
    return max_iters


def iters_ignores_mu(A, w0, lr, mu, tol, max_iters=100_000):
    w = np.array(w0, dtype=np.float64, copy=True)
    for k in range(max_iters):
        g = A @ w
        if np.linalg.norm(g) <= tol:
            return k
        w = w - lr * g
    return max_iters


def iters_norm_of_w(A, w0, lr, mu, tol, max_iters=100_000):
    w = np.array(w0, dtype=np.float64, copy=True)
    v = np.zeros_like(w)
    for k in range(max_iters):
        if np.linalg.norm(w) <= tol:
            return k
        v = mu * v + A @ w
        w = w - lr * v
    return max_iters


VARIANTS = {
    "momentum_step": [
        Variant("ema", "the dampened (EMA) convention v = mu v + (1 - mu) g, not torch's "
                "v = mu v + g", momentum_ema, frozenset({"momentum_velocity", "momentum_update"})),
        Variant("lr_twice", "the learning rate applied twice (v = mu v + lr g and w - lr v)",
                momentum_lr_twice, frozenset({"momentum_velocity", "momentum_update"})),
        Variant("sign", "sign error: w + lr v", momentum_sign, frozenset({"momentum_update"})),
        Variant("old_velocity", "stepping with the old velocity v_{t-1} instead of v_t",
                momentum_old_velocity, frozenset({"momentum_update"})),
        Variant("sutskever", "the Sutskever convention v = mu v - lr g, w + v (a different "
                "state than torch's; with a constant lr the parameters are the same)", momentum_sutskever,
                frozenset({"momentum_velocity"})),
        # In place, the returned velocity aliases the caller's: the recorded history of v
        # changes too, so the velocity check fails as well.
        Variant("in_place", "updating state['v'] in place (the caller's state changes)",
                momentum_in_place, frozenset({"momentum_contract", "momentum_velocity"})),
    ],
    "nag_lookahead_step": [
        Variant("grad_at_w", "gradient at w instead of the look-ahead point (plain momentum)",
                nag_grad_at_w, frozenset({"nag_lookahead"})),
        Variant("lookahead_plus", "gradient at the wrong point w + lr mu v (sign of the "
                "look-ahead)", nag_lookahead_plus, frozenset({"nag_lookahead"})),
        Variant("lookahead_no_lr", "gradient at the wrong point w - mu v (look-ahead without "
                "the learning rate)", nag_lookahead_no_lr, frozenset({"nag_lookahead"})),
    ],
    "nag_step": [
        Variant("plain_momentum", "plain momentum w - lr v_t (no Nesterov correction)",
                nag_plain_momentum, frozenset({"nag_framework"})),
        Variant("sign", "sign error: w + lr (g + mu v)", nag_sign, frozenset({"nag_framework"})),
    ],
    "polyak_parameters": [
        Variant("no_square", "mu = (sqrt(kappa) - 1)/(sqrt(kappa) + 1) without the square",
                polyak_no_square, frozenset({"polyak_parameters"})),
        Variant("gd_rate", "gradient descent's best rate 2/(L + ell) as the learning rate",
                polyak_gd_rate, frozenset({"polyak_parameters"})),
    ],
    "iterations_to_tolerance": [
        Variant("test_after_step", "testing the tolerance after the step (one step too few "
                "counted, and a start at the minimum takes a step)", iters_test_after_step,
                frozenset({"iterations_to_tolerance"})),
        Variant("ignores_mu", "plain gradient descent (mu ignored)", iters_ignores_mu,
                frozenset({"iterations_to_tolerance"})),
        Variant("norm_of_w", "testing ||w|| instead of the gradient norm ||A w||",
                iters_norm_of_w, frozenset({"iterations_to_tolerance"})),
    ],
}

# ----------------------------------------------------------------------------- drivers


def _run_given_grads(fn, w0, grads, lr, mu):
    """Steps with prescribed gradients; returns the stacked parameters and velocities."""
    w, state = w0, {"v": np.zeros_like(w0)}
    ws, vs = [], []
    for g in grads:
        w, state = fn(w, g, state, lr, mu)
        ws.append(np.asarray(w))
        vs.append(np.asarray(state["v"]))
    return np.stack(ws), np.stack(vs)


def _one_step(fn, w, g, v, lr, mu):
    return fn(w, g, {"v": v}, lr, mu)


def _run_on_quadratic(fn, grad, w0, lr, mu, steps, framework):
    w, state = w0, {"v": np.zeros_like(w0)}
    ws, vs = [], []
    for _ in range(steps):
        if framework:
            w, state = fn(w, grad(w), state, lr, mu)
        else:
            w, state = fn(w, grad, state, lr, mu)
        ws.append(np.asarray(w))
        vs.append(np.asarray(state["v"]))
    return np.stack(ws), np.stack(vs)


def _nag_look(fn, grad, w0, lr, mu, steps):
    return _run_on_quadratic(fn, grad, w0, lr, mu, steps, False)


def _nag_frame(fn, grad, w0, lr, mu, steps):
    return _run_on_quadratic(fn, grad, w0, lr, mu, steps, True)


# ----------------------------------------------------------------------------- cases

_TOL = Tolerance(rtol=1e-9, atol=1e-12)


def _grad_cases(seed, specs):
    rng = case_rng(seed)
    cases = []
    for shape, steps, lr, mu, zero_first in specs:
        grads = rng.standard_normal((steps, *shape))
        if zero_first:
            grads[0] = 0.0
        label = (f"w of shape {shape}, {steps} steps, lr = {lr}, mu = {mu}"
                 + (", first gradient zero" if zero_first else ""))
        cases.append(Case(label, (rng.standard_normal(shape), list(grads), lr, mu)))
    return cases


def _mom_visible():
    return _grad_cases(1, [((3,), 4, 0.05, 0.9, False)])


def _mom_hidden():
    return _grad_cases(2, [((1,), 1, 0.5, 0.5, False), ((2, 3), 6, 0.01, 0.99, False),
                           ((4,), 5, 0.2, 0.0, False), ((3,), 3, 0.1, 0.9, True)])


check_momentum_velocity, check_momentum_velocity_hidden = make_check(
    "momentum_step (velocity v_t over several steps)", momentum_step, _mom_visible,
    _mom_hidden, tol=_TOL, variants=VARIANTS["momentum_step"],
    driver=_run_given_grads, select=lambda out: out[1])

# The parameters themselves, against the reference on the same inputs (never against the
# velocity the function returns: w unchanged with v = 0 would be "consistent"); a wrong
# velocity therefore costs this check too.
check_momentum_update, check_momentum_update_hidden = make_check(
    "momentum_step (parameters w_t over several steps)",
    momentum_step, _mom_visible, _mom_hidden, tol=_TOL, variants=VARIANTS["momentum_step"],
    driver=_run_given_grads, select=lambda out: out[0])


def _contract_cases():
    rng = case_rng(3)
    f32 = np.float32
    return [
        Case("float32 w, g, v of shape (3,), lr = 0.1, mu = 0.9",
             (rng.standard_normal(3).astype(f32), rng.standard_normal(3).astype(f32),
              rng.standard_normal(3).astype(f32), 0.1, 0.9)),
        Case("float64 w, g, v of shape (2, 2)",
             (rng.standard_normal((2, 2)), rng.standard_normal((2, 2)),
              rng.standard_normal((2, 2)), 0.05, 0.5)),
    ]


check_momentum_contract, check_momentum_contract_hidden = make_check(
    "momentum_step (dtype kept, inputs unchanged)", momentum_step,
    lambda: _contract_cases()[:1], _contract_cases,
    tol=Tolerance(rtol=0.0, atol=1e30), variants=VARIANTS["momentum_step"],
    driver=_one_step, check_dtype=True, no_mutation=True)


def _quad_cases(seed, specs):
    rng = case_rng(seed)
    cases = []
    for n, kappa, lr_frac, mu, steps in specs:
        A = spd_matrix(n, kappa, rng)
        grad = QuadraticGradient(A, rng.standard_normal(n))
        lr = lr_frac / kappa
        cases.append(Case(f"quadratic in dim {n}, kappa = {kappa}, lr = {lr_frac}/L, "
                          f"mu = {mu}, {steps} steps", (grad, rng.standard_normal(n), lr, mu, steps)))
    return cases


def _nag_visible():
    return _quad_cases(11, [(2, 10.0, 1.0, 0.9, 5)])


def _nag_hidden():
    return _quad_cases(12, [(1, 1.0, 0.5, 0.5, 1), (3, 100.0, 1.0, 0.95, 20), (4, 5.0, 0.3, 0.0, 3),
                            (2, 30.0, 0.8, 0.7, 8)])


check_nag_lookahead, check_nag_lookahead_hidden = make_check(
    "nag_lookahead_step (w_t and v_t over several steps)", nag_lookahead_step,
    _nag_visible, _nag_hidden, tol=_TOL, variants=VARIANTS["nag_lookahead_step"],
    driver=_nag_look)

check_nag_framework, check_nag_framework_hidden = make_check(
    "nag_step (w_t and v_t over several steps)", nag_step, _nag_visible, _nag_hidden,
    tol=_TOL, variants=VARIANTS["nag_step"], driver=_nag_frame)

def _polyak_hidden():
    """kappa = 1 (the edge case), then condition numbers from 10 to 1e4 drawn at random."""
    rng = case_rng(4)
    cases = [Case("L = ell = 2 (kappa = 1)", (2.0, 2.0))]
    for _ in range(3):
        ell = float(10 ** rng.uniform(-1, 1))
        L = float(ell * 10 ** rng.uniform(1, 4))
        cases.append(Case(f"L = {L:.6g}, ell = {ell:.6g}", (L, ell)))
    return cases


check_polyak_parameters, check_polyak_parameters_hidden = make_check(
    "polyak_parameters", polyak_parameters,
    [Case("L = 10, ell = 1", (10.0, 1.0))],
    lambda: _polyak_hidden(),
    tol=_TOL, variants=VARIANTS["polyak_parameters"])


def _iters_cases(seed, specs):
    rng = case_rng(seed)
    cases = []
    for n, kappa, lr_frac, mu, tol in specs:
        # Eigenvalues in [0.02, 0.02 kappa]: ||A w|| and ||w|| then stop at different steps.
        A = 0.02 * spd_matrix(n, kappa, rng)
        cases.append(Case(f"dim {n}, eigenvalues in [0.02, {0.02 * kappa:g}], lr = {lr_frac}/L, "
                          f"mu = {mu}, tol = {tol}",
                          (A, rng.standard_normal(n), lr_frac / (0.02 * kappa), mu, tol)))
    return cases


def _iters_visible():
    return _iters_cases(21, [(2, 100.0, 1.0, 0.8, 1e-6)])


def _iters_hidden():
    cases = _iters_cases(22, [(3, 100.0, 1.0, 0.8, 1e-8), (2, 4.0, 0.5, 0.0, 1e-4),
                              (5, 1000.0, 1.0, 0.9, 1e-6)])
    cases.append(Case("start at the minimum w0 = 0 (0 steps)",
                      (np.diag([1.0, 3.0]), np.zeros(2), 0.1, 0.9, 1e-6)))
    cases.append(Case("max_iters = 5 reached", (np.diag([1.0, 50.0]), np.ones(2), 0.01, 0.5, 1e-12),
                      {"max_iters": 5}))
    return cases


check_iterations_to_tolerance, check_iterations_to_tolerance_hidden = make_check(
    "iterations_to_tolerance", iterations_to_tolerance, _iters_visible, _iters_hidden,
    variants=VARIANTS["iterations_to_tolerance"], select=int)


# ----------------------------------------------------------------------------- the graded parts

#: every graded part, in the order of the notebook (its id is the grade_id of the test cell)
GRADED = [
    Check("momentum_velocity", 2, "momentum_step", check_momentum_velocity, check_momentum_velocity_hidden),
    Check("momentum_update", 1, "momentum_step", check_momentum_update, check_momentum_update_hidden),
    Check("momentum_contract", 1, "momentum_step", check_momentum_contract, check_momentum_contract_hidden),
    Check("nag_lookahead", 2, "nag_lookahead_step", check_nag_lookahead, check_nag_lookahead_hidden),
    Check("nag_framework", 2, "nag_step", check_nag_framework, check_nag_framework_hidden),
    Check("polyak_parameters", 1, "polyak_parameters", check_polyak_parameters, check_polyak_parameters_hidden),
    Check("iterations_to_tolerance", 2, "iterations_to_tolerance", check_iterations_to_tolerance, check_iterations_to_tolerance_hidden),
]
CHECKS, FUNCTIONS = table(GRADED)
