"""Tests of course_lib.optim: every rule against torch.optim, the documented conventions
against formulas written out here, purity, dtypes, edge cases and bad input."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
import torch

from conftest import (
    COURSE_SWITCHES,
    OPTIM_DB_CLASSES,
    RICH,
    TORCH_CASE_IDS,
    TORCH_CASES,
    optim_db_problem,
    run_torch_optimizer,
    torch_default_dtype,
    torch_twin,
)

from course_lib import optim
from course_lib.torch_optim import TORCH_TWINS

NAMES = list(optim.RULES)

SHAPE = (3, 4)
STEPS = 300


@pytest.fixture
def optim_torch_float64_default():
    """torch.optim keeps some scalars (NAdam's product of momentum coefficients) in the
    default dtype; with the float32 default NAdam drifts ~1e-9 away from exact float64
    arithmetic, so the torch comparisons run with float64 as the default dtype."""
    with torch_default_dtype(torch.float64):
        yield


def _problem(seed: int = 0, steps: int = STEPS, shape=SHAPE):
    """A start point and a seeded sequence of noisy gradients whose scales span 1e-3..1e2
    (so epsilon matters for some coordinates and not for others)."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-3, 2, int(np.prod(shape))).reshape(shape)
    noise = [rng.standard_normal(shape) * scales for _ in range(steps)]
    return rng.standard_normal(shape), noise


def _pulled(noise):
    """``grad(w, k)``: a contracting pull towards 0 plus ``noise[k]``. The gradient depends
    on w, so a wrong step also changes every later gradient."""
    return lambda w, k: noise[k] + 0.1 * w


def _run_ours(rule, w0, grad, steps):
    w, state = w0.copy(), rule.init(w0)
    out = []
    for k in range(steps):
        w, state = rule.step(w, grad(w, k), state)
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("name,hp", TORCH_CASES, ids=TORCH_CASE_IDS)
def test_matches_torch_every_step(name, hp, optim_torch_float64_default):
    w0, noise = _problem()
    ours = _run_ours(optim.get(name, **hp), w0, _pulled(noise), STEPS)
    assert np.all(np.isfinite(ours))
    assert np.max(np.abs(ours[-1] - w0)) > 1e-3  # the parameters really moved
    # atol only guards entries that pass close to 0, where a relative test is meaningless.
    cls, kwargs = torch_twin(name, hp)
    for foreach in (False, True):
        ref = run_torch_optimizer(cls, {**kwargs, "foreach": foreach}, w0, _pulled(noise),
                                  STEPS)
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12, err_msg=f"foreach={foreach}")


@pytest.mark.parametrize("name", NAMES)
def test_lr_schedule_uses_steps_already_taken(name, optim_torch_float64_default):
    """lr(k) with k = 0 on the first step is what LambdaLR stepped after each step gives
    (for adagrad with an lr_decay, which divides the scheduled lr; for adamw with a
    decoupled decay, which uses it)."""

    def schedule(k):
        return 0.1 * 0.99**k

    w0, noise = _problem(seed=1, steps=60)
    ours = _run_ours(optim.get(name, **{**RICH[name], "lr": schedule}), w0, _pulled(noise), 60)
    cls, kwargs = torch_twin(name, {**RICH[name], "lr": 1.0, "foreach": False})
    ref = run_torch_optimizer(
        cls, kwargs, w0, _pulled(noise), 60,
        scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, schedule),
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_schedule_is_called_with_zero_then_one():
    calls = []

    def schedule(k):
        calls.append(k)
        return 0.1

    rule = optim.sgd(lr=schedule)
    w, state = np.ones(2), rule.init(np.ones(2))
    for _ in range(3):
        w, state = rule.step(w, np.ones(2), state)
    assert calls == [0, 1, 2]
    np.testing.assert_allclose(w, 1 - 3 * 0.1)


# --- signatures, variants, documentation -----------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_keywords_and_defaults_are_torchs(name):
    ours = inspect.signature(optim.RULES[name]).parameters
    cls, twin_kwargs = TORCH_TWINS[name]
    theirs = inspect.signature(cls.__init__).parameters
    assert set(ours) - set(COURSE_SWITCHES) <= set(theirs)
    for key, p in ours.items():
        if key in COURSE_SWITCHES:
            assert p.default is COURSE_SWITCHES[key]
        elif key in twin_kwargs:
            # torch.optim.SGD defaults to momentum=0 (plain SGD); these rules need mu > 0.
            assert p.default == twin_kwargs[key]
        else:
            assert p.default == theirs[key].default, key


def test_rules_registry_and_get():
    for name in NAMES:
        rule = optim.get(name, lr=0.5)
        assert isinstance(rule, optim.Rule)
        assert rule.name == name
        assert rule.hyperparams["lr"] == 0.5
    # hyperparams are the bound arguments of the factory, defaults included
    assert optim.get("adam", lr=0.1).hyperparams == dict(
        lr=0.1,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        bias_correction=True,
        eps_inside=False,
        maximize=False,
        decoupled_weight_decay=False,
    )
    assert optim.nesterov(0.2).hyperparams == dict(
        lr=0.2, momentum=0.9, dampening=0.0, weight_decay=0.0, maximize=False
    )


VARIANTS = [  # (variant, its arguments, the base rule with the switch that makes it)
    ("momentum", {}, "sgd", {"momentum": 0.9}),
    ("momentum", {"momentum": 0.5, "dampening": 0.5}, "sgd", {"momentum": 0.5, "dampening": 0.5}),
    ("nesterov", {"weight_decay": 0.1}, "sgd", {"momentum": 0.9, "nesterov": True,
                                                  "weight_decay": 0.1}),
    ("amsgrad", {"weight_decay": 0.1}, "adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {"amsgrad": True}, "adam", {"amsgrad": True, "weight_decay": 1e-2,
                                          "decoupled_weight_decay": True}),
]


@pytest.mark.parametrize("variant,kw,base,base_kw", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_variants_are_their_base_rule_with_a_switch(variant, kw, base, base_kw):
    w0, noise = _problem(seed=4, steps=30)
    a = trajectory_fixed(optim.get(variant, **kw), w0, noise)
    b = trajectory_fixed(optim.get(base, **base_kw), w0, noise)
    np.testing.assert_array_equal(a, b)  # the same operations on the same numbers


@pytest.mark.parametrize("name", NAMES)
def test_help_shows_the_algorithm(name):
    """The factory's docstring is the one place of the algorithm (an update in the book's
    notation, its arguments), and the rule's module no longer hides behind the factory."""
    doc = optim.RULES[name].__doc__
    assert "w_t" in doc and "eta" in doc and "Args:" in doc
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"course_lib.optim.{name}")


# --- dtypes, purity, edge cases ------------------------------------------------------------
# Settings that switch on every code path (state buffers, options) of every rule.
PATH_CASES = TORCH_CASES + [
    ("rmsprop", dict(eps_inside=True, centered=True, momentum=0.9)),
    ("adam", dict(eps_inside=True, bias_correction=False, amsgrad=True)),
    ("nadam", dict(constant_momentum=True, weight_decay=0.1)),
]
PATH_IDS = TORCH_CASE_IDS + [f"{name}-convention-{i}" for i, (name, _) in
                              enumerate(PATH_CASES[len(TORCH_CASES):])]


def _arrays(state):
    return {f: v for f, v in zip(state._fields, state) if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("case", PATH_CASES, ids=PATH_IDS)
def test_float32_stays_float32_and_tracks_float64(case):
    name, kw = case
    rule = optim.get(name, **kw)
    w0, noise = _problem(steps=20)
    w32, w64 = w0.astype(np.float32), w0.copy()
    s32, s64 = rule.init(w32), rule.init(w64)
    assert all(a.dtype == np.float32 for a in _arrays(s32).values())
    grad = _pulled(noise)
    for k in range(len(noise)):
        g = grad(w64, k)
        # a float64 gradient for float32 parameters (every other step) is cast, not promoted
        g32 = g if k % 2 else g.astype(np.float32)
        w32, s32 = rule.step(w32, g32, s32)
        w64, s64 = rule.step(w64, g, s64)
        assert w32.dtype == np.float32
        assert all(a.dtype == np.float32 for a in _arrays(s32).values())
    assert w64.dtype == np.float64 and s32.t == s64.t == 20
    # same maths, less precision: float32 stays within float32 rounding of float64
    np.testing.assert_allclose(w32, w64, rtol=1e-4, atol=1e-5)


def _check_pure_step(rule, w, g, state):
    before_w, before_g = w.copy(), g.copy()
    before_state = {f: a.copy() for f, a in _arrays(state).items()}
    before_scalars = [v for v in state if not isinstance(v, np.ndarray)]

    w_new, new_state = rule.step(w, g, state)

    np.testing.assert_array_equal(w, before_w)
    np.testing.assert_array_equal(g, before_g)
    for f, a in _arrays(state).items():
        np.testing.assert_array_equal(a, before_state[f], err_msg=f"state.{f} was modified")
    assert [v for v in state if not isinstance(v, np.ndarray)] == before_scalars
    assert new_state.t == state.t + 1
    # Outputs must not alias the inputs, or a caller reusing w or g would corrupt them.
    for out in [w_new, *_arrays(new_state).values()]:
        assert not np.shares_memory(out, w) and not np.shares_memory(out, g)
    for old in _arrays(state).values():
        assert not np.shares_memory(w_new, old)
    return w_new, new_state


@pytest.mark.parametrize("case", PATH_CASES, ids=PATH_IDS)
def test_step_never_mutates_its_inputs(case):
    """Checked on the first step (t = 1 has its own code paths) and on the third (non-zero
    buffers)."""
    name, kw = case
    rule = optim.get(name, **kw)
    w, noise = _problem(steps=3)
    state, grad = rule.init(w), _pulled(noise)
    for k in range(3):
        w, state = _check_pure_step(rule, w, grad(w, k), state)


def _check_blockwise_equals_pieces(rule, shape, cuts, seed=2):
    """Step a large array and, separately, its column pieces [cuts[i], cuts[i+1]); the
    results must agree bit for bit."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)
    state = rule.init(w)
    pieces = [(slice(None), slice(a, b)) for a, b in zip(cuts[:-1], cuts[1:])]
    piece_states = [rule.init(w[p]) for p in pieces]
    for _ in range(2):
        g = rng.standard_normal(shape)
        w_small = []
        for i, p in enumerate(pieces):
            w_piece, piece_states[i] = rule.step(w[p], g[p], piece_states[i])
            w_small.append(w_piece)
        w, state = rule.step(w, g, state)
        assert w.shape == shape and all(a.shape == shape for a in _arrays(state).values())
        np.testing.assert_array_equal(w, np.concatenate(w_small, axis=1))
        for f, a in _arrays(state).items():
            whole = np.concatenate([getattr(s, f) for s in piece_states], axis=1)
            np.testing.assert_array_equal(a, whole, err_msg=f)
        scalars = [v for v in state if not isinstance(v, np.ndarray)]
        assert scalars == [v for v in piece_states[0] if not isinstance(v, np.ndarray)]


def test_large_arrays_are_updated_blockwise_with_the_same_result():
    """From 4 MiB on, step updates in blocks (for speed); the result must be that of the
    same update on pieces below 4 MiB. Shape (2, 262151) float64 is 4.19 MB and not a
    multiple of the block."""
    rule = optim.adam(amsgrad=True, weight_decay=0.1)
    _check_blockwise_equals_pieces(rule, (2, 262_151), [0, 90_000, 180_000, 262_151])


@pytest.mark.parametrize("case", PATH_CASES, ids=PATH_IDS)
def test_blockwise_update_of_every_rule(case, monkeypatch):
    """The same check for every rule and option, with the block size shrunk to 256 bytes
    (and the threshold to 4 KiB) so that small arrays exercise the blocked path."""
    from course_lib.optim import _base

    monkeypatch.setattr(_base, "_BLOCK_BYTES", 256)
    monkeypatch.setattr(_base, "_BLOCKED_FROM", 4096)
    rule = optim.get(*case[:1], **case[1])
    _check_blockwise_equals_pieces(rule, (2, 301), [0, 100, 200, 301])  # 4816 bytes


@pytest.mark.parametrize("name", NAMES)
def test_first_step_and_zero_gradients(name):
    rule = optim.get(name)
    w0 = np.array([0.5, -1.5, 2.0])
    w1, s1 = rule.step(w0, np.array([0.3, -0.2, 1.0]), rule.init(w0))
    assert s1.t == 1 and np.all(np.isfinite(w1)) and not np.array_equal(w1, w0)

    w, state = w0, rule.init(w0)
    for _ in range(5):
        w, state = rule.step(w, np.zeros(3), state)
        assert all(np.all(np.isfinite(a)) for a in _arrays(state).values())
    if name == "adamw":  # decoupled decay shrinks w even without a gradient
        np.testing.assert_allclose(w, w0 * (1 - 1e-3 * 1e-2) ** 5, rtol=1e-14)
    else:  # with no gradient and no weight decay nothing moves
        np.testing.assert_array_equal(w, w0)


ADAPTIVE = ["adagrad", "rmsprop", "adadelta", "adam", "adamax", "nadam", "amsgrad", "adamw"]


@pytest.mark.parametrize("name", ADAPTIVE)
def test_adaptive_steps_do_not_depend_on_gradient_scale(name):
    """Adaptive rules divide by a running gradient magnitude, so gradients of size 1e30
    (squares 1e60 are still finite in float64) give the same, finite steps as the same
    gradients scaled down by 1e20, once epsilon is negligible against both."""
    rule = optim.get(name)
    w0, noise = _problem(seed=3, steps=5)
    huge = trajectory_fixed(rule, w0, [1e30 * n for n in noise])
    moderate = trajectory_fixed(rule, w0, [1e10 * n for n in noise])
    assert np.all(np.isfinite(huge))
    np.testing.assert_allclose(huge, moderate, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov"])
def test_huge_gradients_move_sgd_by_lr_times_g(name):
    """Plain and momentum SGD do not normalise: a 1e30 gradient moves w by lr * 1e30
    = 1e27 (default lr 1e-3), which float64 still represents, so the result is finite but
    useless; on the first step v_1 = g_1, and Nesterov's step is (1 + mu) g_1."""
    rule = optim.get(name)
    w0, g = np.array([1.0, -2.0]), np.array([1e30, -3e30])
    w1, _ = rule.step(w0, g, rule.init(w0))
    factor = 1.9 if name == "nesterov" else 1.0
    assert np.all(np.isfinite(w1))
    np.testing.assert_allclose(w1, w0 - 1e-3 * factor * g, rtol=1e-15)


def trajectory_fixed(rule, w0, grads):
    w, state = w0, rule.init(w0)
    out = []
    for g in grads:
        w, state = rule.step(w, g, state)
        out.append(w)
    return np.array(out)


def test_lists_ints_and_scalars_are_converted():
    rule = optim.adam(lr=0.1)
    w1, state = rule.step([1, 2], [3, -4], rule.init([1, 2]))
    assert w1.dtype == np.float64 and state.m.dtype == np.float64
    np.testing.assert_allclose(w1, [0.9, 2.1], rtol=1e-7)  # first Adam step ~ lr sign(g)

    path = optim.trajectory(optim.sgd(lr=0.25), lambda w: 2 * w, 1.0, 3)  # f = w^2
    assert path.shape == (4,)
    np.testing.assert_allclose(path, [1.0, 0.5, 0.25, 0.125])
    path = optim.trajectory(optim.momentum(lr=0.1), lambda w: 2 * w, np.float32([1, 2]), 2)
    assert path.shape == (3, 2) and path.dtype == np.float32


def test_trajectory_matches_repeated_steps():
    rule = optim.nesterov(lr=0.05, momentum=0.8)
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    path = optim.trajectory(rule, lambda w: A @ w, np.array([1.0, -1.0]), 50)
    assert path.shape == (51, 2)
    w, state = np.array([1.0, -1.0]), rule.init(np.zeros(2))
    for k in range(50):
        w, state = rule.step(w, A @ w, state)
        np.testing.assert_array_equal(path[k + 1], w)
    assert np.linalg.norm(path[-1]) < 1e-2 * np.linalg.norm(path[0])  # it converges


# --- documented conventions ---------------------------------------------------------------
def _quadratic(seed=0, dim=5):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    A = Q @ np.diag(np.linspace(0.1, 2.0, dim)) @ Q.T
    return A, rng.standard_normal(dim), rng.standard_normal(dim)


def test_ema_momentum_is_torch_momentum_with_lr_times_one_minus_mu(optim_torch_float64_default):
    """EMA momentum m_t = mu m_{t-1} + (1 - mu) g_t (m_0 = 0) with lr_ema retraces torch's
    momentum with lr = lr_ema (1 - mu): on a quadratic, to 1e-9, at every step."""
    A, b, w0 = _quadratic()
    mu, lr_ema = 0.9, 0.5
    w, m, ema_path = w0.copy(), np.zeros_like(w0), []
    for _ in range(STEPS):
        m = mu * m + (1 - mu) * (A @ w - b)
        w = w - lr_ema * m
        ema_path.append(w)
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.SGD([p], lr=lr_ema * (1 - mu), momentum=mu)
    torch_path = []
    for _ in range(STEPS):
        p.grad = torch.from_numpy(A @ p.detach().numpy() - b)
        opt.step()
        torch_path.append(p.detach().numpy().copy())
    ours = optim.trajectory(
        optim.momentum(lr=lr_ema * (1 - mu), momentum=mu), lambda w: A @ w - b, w0, STEPS
    )
    np.testing.assert_allclose(ema_path, torch_path, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours[1:], torch_path, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours[-1], np.linalg.solve(A, b), atol=1e-6)  # and it converges


def test_dampened_momentum_differs_by_the_first_gradient_transient():
    """dampening=mu starts at v_1 = g_1 (torch), i.e. the EMA started at m_0 = g_1. For a
    fixed gradient sequence the documented offset from the rescaled undamped rule is
    w_t(tau=mu, eta_ema) - w_t(tau=0, eta_ema (1-mu)) = -eta_ema mu (1 - mu^t)/(1 - mu) g_1."""
    mu, lr_ema = 0.8, 0.1
    w0, noise = _problem(seed=5, steps=100)
    damped = trajectory_fixed(optim.momentum(lr=lr_ema, momentum=mu, dampening=mu), w0, noise)
    plain = trajectory_fixed(optim.momentum(lr=lr_ema * (1 - mu), momentum=mu), w0, noise)
    t = np.arange(1, 101).reshape(-1, 1, 1)
    offset = -lr_ema * mu * (1 - mu**t) / (1 - mu) * noise[0]
    np.testing.assert_allclose(damped - plain, offset, rtol=1e-9, atol=1e-12)


def test_eps_inside_follows_its_formula():
    """eps_inside=True puts epsilon under the root; checked against the formulas written
    out directly, with an epsilon large enough to matter."""
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal(4)
    grads = [0.05 * rng.standard_normal(4) for _ in range(30)]
    lr, eps, alpha, b1, b2 = 0.01, 1e-3, 0.9, 0.9, 0.99

    w, v, ref_rms = w0.copy(), np.zeros(4), []
    for g in grads:
        v = alpha * v + (1 - alpha) * g**2
        w = w - lr * g / np.sqrt(v + eps)
        ref_rms.append(w)
    rms_in = trajectory_fixed(
        optim.rmsprop(lr=lr, alpha=alpha, eps=eps, eps_inside=True), w0, grads
    )
    rms_out = trajectory_fixed(optim.rmsprop(lr=lr, alpha=alpha, eps=eps), w0, grads)
    np.testing.assert_allclose(rms_in, ref_rms, rtol=1e-12)
    assert np.max(np.abs(rms_in - rms_out)) > 1e-3  # the convention matters here

    w, m, v, ref_adam = w0.copy(), np.zeros(4), np.zeros(4), []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        w = w - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps)
        ref_adam.append(w)
    adam_in = trajectory_fixed(
        optim.adam(lr=lr, betas=(b1, b2), eps=eps, eps_inside=True), w0, grads
    )
    adam_out = trajectory_fixed(optim.adam(lr=lr, betas=(b1, b2), eps=eps), w0, grads)
    np.testing.assert_allclose(adam_in, ref_adam, rtol=1e-12)
    assert np.max(np.abs(adam_in - adam_out)) > 1e-3


def test_adam_without_bias_correction():
    w0, g = np.array([1.0, -2.0, 0.5]), np.array([0.2, -3.0, 1e-4])
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    w1, state = optim.adam(lr=lr, bias_correction=False).step(w0, g, optim.adam().init(w0))
    expected = w0 - lr * (1 - b1) * g / (np.sqrt(1 - b2) * np.abs(g) + eps)
    np.testing.assert_allclose(w1, expected, rtol=1e-13)
    # ~3.16 lr instead of the bias-corrected ~lr
    np.testing.assert_allclose(np.abs(w1 - w0)[:2], lr * 0.1 / np.sqrt(0.001), rtol=1e-5)
    # and later steps follow m_t / (sqrt(v_t) + eps) with the raw averages
    g2 = np.array([-0.1, 1.0, 2.0])
    w2, _ = optim.adam(lr=lr, bias_correction=False).step(w1, g2, state)
    m = b1 * (1 - b1) * g + (1 - b1) * g2
    v = b2 * (1 - b2) * g**2 + (1 - b2) * g2**2
    np.testing.assert_allclose(w2, w1 - lr * m / (np.sqrt(v) + eps), rtol=1e-13)


def _dozat_nadam(w0, grads, lr, mus, nu, eps):
    """Dozat (2016), Algorithm 2, line by line, for a given momentum schedule mus[t]."""
    w, m, n = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    out = []
    for t, g in enumerate(grads, start=1):
        g_hat = g / (1 - np.prod(mus[1 : t + 1]))
        m = mus[t] * m + (1 - mus[t]) * g
        m_hat = m / (1 - np.prod(mus[1 : t + 2]))
        n = nu * n + (1 - nu) * g**2
        n_hat = n / (1 - nu**t)
        m_bar = (1 - mus[t]) * g_hat + mus[t + 1] * m_hat
        w = w - lr * m_bar / (np.sqrt(n_hat) + eps)
        out.append(w)
    return np.array(out)


def test_nadam_constant_momentum_is_dozats_algorithm():
    w0, noise = _problem(seed=11)
    lr, b1, b2, eps = 2e-3, 0.9, 0.999, 1e-8
    ours = trajectory_fixed(optim.nadam(constant_momentum=True), w0, noise)
    ref = _dozat_nadam(w0, noise, lr, np.full(STEPS + 2, b1), b2, eps)
    np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-14)
    # torch's default schedule is a different rule
    scheduled = trajectory_fixed(optim.nadam(), w0, noise)
    assert np.max(np.abs(scheduled - ours)) > 1e-4


def test_nadam_momentum_decay_zero_means_half_beta1():
    """0.96^0 = 1, so momentum_decay=0 gives mu_t = beta1 / 2 for all t (not beta1).
    First step, m_1 = (1 - beta1) g and vhat_1 = g^2:
    w_1 = w_0 - lr [mu (1 - beta1) / (1 - mu^2) + 1] g / (|g| + eps) with mu = beta1 / 2."""
    w0, g = np.array([0.3, -0.7]), np.array([2.0, -0.5])
    lr, b1, eps = 2e-3, 0.9, 1e-8
    w1, state = optim.nadam(momentum_decay=0.0).step(w0, g, optim.nadam().init(w0))
    mu = b1 / 2
    coef = mu * (1 - b1) / (1 - mu**2) + 1
    np.testing.assert_allclose(w1, w0 - lr * coef * g / (np.abs(g) + eps), rtol=1e-13)
    assert state.mu_product == pytest.approx(mu, rel=1e-15)
    w1c, _ = optim.nadam(constant_momentum=True).step(w0, g, optim.nadam().init(w0))
    coef_c = b1 * (1 - b1) / (1 - b1**2) + 1
    np.testing.assert_allclose(w1c, w0 - lr * coef_c * g / (np.abs(g) + eps), rtol=1e-13)


def test_adamw_decay_is_decoupled_unlike_adam_weight_decay():
    """AdamW shrinks w by (1 - lr lambda) and then takes the plain Adam step; Adam's
    weight_decay instead adds lambda w to g before the adaptive rescaling."""
    w0, g = np.array([4.0, -1.0]), np.array([1e-3, 2.0])
    lr, lam = 0.1, 0.5
    w_adamw, _ = optim.adamw(lr=lr, weight_decay=lam).step(w0, g, optim.adamw().init(w0))
    w_plain, _ = optim.adam(lr=lr).step(w0, g, optim.adam().init(w0))
    np.testing.assert_allclose(w_adamw, (1 - lr * lam) * w0 + (w_plain - w0), rtol=1e-13)
    w_l2, _ = optim.adam(lr=lr, weight_decay=lam).step(w0, g, optim.adam().init(w0))
    np.testing.assert_allclose(w_l2, w0 - lr * np.sign(g + lam * w0), rtol=1e-6)


# --- bad input ----------------------------------------------------------------------------
def test_shape_mismatch_is_an_error_not_a_broadcast():
    for name in NAMES:
        rule = optim.get(name)
        state = rule.init(np.zeros(2))
        with pytest.raises(ValueError, match=r"g .*shape.*\(1,\).*w .*shape \(2,\)"):
            rule.step(np.zeros(2), np.zeros(1), state)
        with pytest.raises(ValueError, match=r"\(2, 1\).*\(2,\)"):
            rule.step(np.zeros(2), np.zeros((2, 1)), state)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf")])
def test_bad_lr(name, lr):
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        optim.get(name, lr=lr)


def test_bad_lr_type_and_bad_schedule_value():
    with pytest.raises(
        TypeError, match=r"lr must be a finite number >= 0 or a callable lr\(k\), got '0.1' of type str"
    ):
        optim.sgd(lr="0.1")
    rule = optim.adam(lr=lambda k: 0.1 - 0.1 * k)
    w, state = rule.step(np.ones(2), np.ones(2), rule.init(np.ones(2)))  # lr(0) = 0.1 is fine
    w, state = rule.step(w, np.ones(2), state)  # lr(1) = 0
    with pytest.raises(ValueError, match=r"lr\(2\) must be a finite number >= 0, got -0.1"):
        rule.step(w, np.ones(2), state)


@pytest.mark.parametrize("name", ["adam", "adamax", "nadam", "amsgrad", "adamw"])
@pytest.mark.parametrize(
    "betas, match",
    [
        ((1.0, 0.999), r"betas\[0\] must be a number in \[0, 1\), got 1.0"),
        ((0.9, -0.1), r"betas\[1\] must be a number in \[0, 1\), got -0.1"),
    ],
)
def test_bad_betas(name, betas, match):
    with pytest.raises(ValueError, match=match):
        optim.get(name, betas=betas)


def test_bad_hyperparameters():
    cases = [
        (lambda: optim.adam(betas=0.9), TypeError, r"betas must be a pair"),
        (lambda: optim.adam(eps=-1e-8), ValueError, r"eps must be a finite number >= 0"),
        (lambda: optim.sgd(weight_decay=-0.1), ValueError, r"weight_decay must be .* >= 0"),
        (lambda: optim.momentum(momentum=-0.5), ValueError, r"momentum must be a number in \[0, 1\)"),
        (lambda: optim.rmsprop(momentum=-0.5), ValueError, r"momentum must be a number in \[0, 1\)"),
        (lambda: optim.momentum(dampening=1.5), ValueError, r"dampening must be a number in \[0, 1\)"),
        (lambda: optim.rmsprop(alpha=1.0), ValueError, r"alpha must be a number in \[0, 1\)"),
        (lambda: optim.adadelta(rho=-0.1), ValueError, r"rho must be a number in \[0, 1\)"),
        (lambda: optim.adagrad(lr_decay=-1), ValueError, r"lr_decay must be .* >= 0"),
        (
            lambda: optim.adagrad(initial_accumulator_value=-1),
            ValueError,
            r"initial_accumulator_value must be .* >= 0",
        ),
        (lambda: optim.nadam(momentum_decay=-1e-3), ValueError, r"momentum_decay must be"),
        (lambda: optim.adam(amsgrad=1), TypeError, r"amsgrad must be True or False"),
        (
            lambda: optim.nesterov(dampening=0.1),
            ValueError,
            r"nesterov requires momentum > 0 and dampening = 0",
        ),
        (lambda: optim.nesterov(momentum=0.0), ValueError, r"nesterov requires momentum > 0"),
    ]
    for make, error, match in cases:
        with pytest.raises(error, match=match):
            make()


def test_unknown_rule_name_lists_accepted_names():
    with pytest.raises(
        KeyError, match=r"unknown rule 'Adam'; accepted names: sgd, momentum, .*adamw"
    ):
        optim.get("Adam")


def test_bad_state_and_arrays():
    rule = optim.adam()
    with pytest.raises(TypeError, match="state must be a AdamState"):
        rule.step(np.zeros(2), np.zeros(2), optim.adamax().init(np.zeros(2)))
    with pytest.raises(ValueError, match=r"state.m has shape \(3,\).*w has shape \(2,\)"):
        rule.step(np.zeros(2), np.zeros(2), rule.init(np.zeros(3)))
    with pytest.raises(ValueError, match=r"state.m .*dtype float64.*dtype float32"):
        rule.step(np.zeros(2, np.float32), np.zeros(2), rule.init(np.zeros(2)))
    with pytest.raises(TypeError, match="w must be an array of real numbers"):
        rule.init(np.zeros(2, complex))
    with pytest.raises(TypeError, match="g must be an array of real numbers"):
        rule.step(np.zeros(2), np.array(["a", "b"]), rule.init(np.zeros(2)))
    with pytest.raises(ValueError, match="num_steps must be an integer >= 0, got -1"):
        optim.trajectory(rule, lambda w: w, np.zeros(2), -1)
    with pytest.raises(TypeError, match="num_steps must be an integer >= 0, got 2.0 of type float"):
        optim.trajectory(rule, lambda w: w, np.zeros(2), 2.0)


@pytest.mark.parametrize("name", NAMES)
def test_every_hyperparameter_is_checked_by_one_policy(name):
    """For every argument of every factory (read from its signature): a value of the wrong
    type raises TypeError, a number out of range ValueError, and both messages name the
    argument and what it must be."""
    for key, p in inspect.signature(optim.RULES[name]).parameters.items():
        with pytest.raises(TypeError, match=rf"^{key} must be .*, got 'x' of type str$"):
            optim.get(name, **{key: "x"})
        if isinstance(p.default, bool):
            with pytest.raises(TypeError, match=rf"^{key} must be True or False, got 1 "):
                optim.get(name, **{key: 1})
        elif isinstance(p.default, float):
            with pytest.raises(ValueError, match=rf"^{key} must be .*, got -1.0$"):
                optim.get(name, **{key: -1.0})
        else:  # betas
            with pytest.raises(ValueError, match=rf"^{key}\[1\] must be a number in \[0, 1\)"):
                optim.get(name, **{key: (0.9, 1.0)})
    with pytest.raises(TypeError, match="unexpected keyword argument 'maximise'"):
        optim.get(name, maximise=True)


# --- torch's own optimizer test inputs ------------------------------------------------------
# Before course_lib.optim took maximize, SGD's momentum/dampening/nesterov and NAdam's
# decoupled_weight_decay, the NumPy rules matched 35 of these 52 configurations.
NUMPY_NAME = {cls.__name__: name for name, (cls, kw) in TORCH_TWINS.items() if not kw}


@pytest.mark.parametrize("cls_name", OPTIM_DB_CLASSES)
def test_matches_torch_on_torchs_own_test_inputs(cls_name, optim_db):
    """Every CPU configuration of torch's optimizer database (optim_db) for this class: the
    rule of the same torch name, given the same keywords (a Tensor lr as its value), takes
    torch's steps (float64, rtol 1e-6)."""
    configs = [(desc, kw) for cls, desc, kw in optim_db if cls == cls_name]
    assert configs, f"optim_db has no CPU configuration of {cls_name}"
    w0, grad, steps = optim_db_problem()
    failures = []
    for desc, kwargs in configs:
        expected = run_torch_optimizer(getattr(torch.optim, cls_name), kwargs, w0, grad, steps)
        ours = {k: float(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        got = _run_ours(optim.get(NUMPY_NAME[cls_name], **ours), w0, grad, steps)
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-12):
            failures.append(f"{desc} {kwargs}")
    assert not failures, f"{len(failures)} of {len(configs)} differ: {failures}"


def test_torchs_test_inputs_cover_the_eight_classes(optim_db):
    assert {cls for cls, _, _ in optim_db} == set(OPTIM_DB_CLASSES)
    assert len(optim_db) >= 52  # 52 in torch 2.13
