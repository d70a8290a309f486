"""course_lib.torch_optim against torch.optim and against the published equations.

Our classes call the same tensor operations in the same order as torch's single-tensor
(``foreach=False``) implementations, so every comparison with torch.optim below demands
bit-for-bit equality (``torch.equal``), not closeness. The settings torch does not offer
(``eps_inside``, ``bias_correction=False``, ``constant_momentum``) are checked against a float64 NumPy transcription of the equations with ``rtol=1e-12``.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io

import numpy as np
import pytest
import torch
from torch import nn

from conftest import (
    OPTIM_DB_CLASSES,
    RICH,
    TORCH_CASE_IDS,
    TORCH_CASES,
    optim_db_problem,
    run_torch_optimizer,
    torch_default_dtype,
    torch_twin,
)

from course_lib import optim, torch_optim
from course_lib.torch_optim import (
    SGD,
    AMSGrad,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Momentum,
    NAdam,
    Nesterov,
    RMSprop,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# CPU always; CUDA in addition wherever there is one (no test is ever skipped).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

NAMES = list(optim.RULES)


def twin_context(name):
    """The context in which torch's twin of ``name`` computes what ours computes.

    torch.optim.NAdam keeps the momentum product ``P_t`` in a tensor of the *default* dtype
    (float32 unless changed), ours in a Python float (float64). Only under a float64
    default do both round ``P_t`` the same way; every other rule needs nothing.
    """
    return torch_default_dtype(torch.float64) if name == "nadam" else contextlib.nullcontext()


def make_pair(name, params_ours, params_torch, hp):
    ours = torch_optim.CLASSES[name](params_ours, **hp)
    cls, kwargs = torch_twin(name, hp)
    theirs = cls(params_torch, **kwargs, foreach=False)
    return ours, theirs


def noisy_grad(w, gen, k):
    """A gradient that depends on w (a quadratic pull to 0) plus noise whose scale changes
    over four orders of magnitude, with exact zeros sprinkled in; the changing scale makes
    AMSGrad's maximum and AdaMax's infinity norm actually switch branches."""
    scale = 10.0 ** ((k % 7) - 3.0)
    noise = torch.randn(w.shape, generator=gen, dtype=torch.float64).to(w.dtype)
    noise[torch.rand(w.shape, generator=gen) < 0.1] = 0.0
    return 0.5 * w.detach() + scale * noise.to(w.device)


# --- against torch.optim, float64, 300 steps ---------------------------------------------


@pytest.mark.parametrize("name,hp", TORCH_CASES, ids=TORCH_CASE_IDS)
def test_bit_identical_to_torch_float64(name, hp):
    gen = torch.Generator().manual_seed(1234)
    w0 = [torch.randn(3, 5, generator=gen, dtype=torch.float64),
          torch.randn(7, generator=gen, dtype=torch.float64)]
    ours_p = [w.clone().requires_grad_() for w in w0]
    torch_p = [w.clone().requires_grad_() for w in w0]
    with twin_context(name):
        ours, theirs = make_pair(name, ours_p, torch_p, hp)
        for k in range(300):
            for a, b in zip(ours_p, torch_p):
                g = noisy_grad(a, gen, k)
                a.grad = g.clone()
                b.grad = g.clone()
            ours.step()
            theirs.step()
            if k in (0, 1, 2, 99):
                for a, b in zip(ours_p, torch_p):
                    assert torch.equal(a, b), f"{name} {hp}: differs from torch at step {k + 1}"
    for a, b, w in zip(ours_p, torch_p, w0):
        assert a.dtype == torch.float64
        assert not torch.equal(a, w)  # it moved, so the equality below means something
        assert torch.equal(a, b), f"{name} {hp}: max |diff| {(a - b).abs().max().item()}"
    for a in ours_p:
        assert ours.state[a]["step"] == 300


def test_nadam_default_float32_scalar_dtype_only_rounding_apart():
    """Under torch's float32 default dtype, torch rounds NAdam's P_t to float32 and ours
    does not: the results then agree to float32-rounding level, not bit for bit."""
    assert torch.get_default_dtype() == torch.float32
    gen = torch.Generator().manual_seed(5)
    w0 = torch.randn(20, generator=gen, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    ours, theirs = make_pair("nadam", [a], [b], {"lr": 0.01})
    for k in range(300):
        g = noisy_grad(a, gen, k)
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


# --- settings torch does not have: NumPy transcription of the equations -------------------


def reference_run(name, hp, w0, grads):
    """Float64 NumPy transcription of the docstring equations, for the non-torch settings."""
    w = np.array(w0, dtype=np.float64)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        if name == "rmsprop":
            a, eps, lr = hp["alpha"], hp["eps"], hp["lr"]
            v = a * v + (1 - a) * g * g
            s = v
            if hp.get("centered", False):
                m = a * m + (1 - a) * g
                s = v - m * m
            w = w - lr * g / np.sqrt(s + eps)
        elif name == "adam":
            b1, b2 = hp["betas"]
            lr, eps = hp["lr"], hp["eps"]
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            if hp["bias_correction"]:
                m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            else:
                m_hat, v_hat = m, v
            denom = np.sqrt(v_hat + eps) if hp["eps_inside"] else np.sqrt(v_hat) + eps
            w = w - lr * m_hat / denom
        elif name == "nadam":
            b1, b2 = hp["betas"]
            lr, eps = hp["lr"], hp["eps"]
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            denom = np.sqrt(v / (1 - b2**t)) + eps
            w = w - lr * (b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)) / denom
        else:  # pragma: no cover - only the names above are used
            raise KeyError(name)
    return w


BEYOND_TORCH = [
    ("rmsprop", {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6, "eps_inside": True}),
    ("rmsprop", {"lr": 1e-3, "alpha": 0.99, "eps": 1e-4, "eps_inside": True, "centered": True}),
    ("adam", {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "bias_correction": False,
              "eps_inside": False}),
    ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "bias_correction": True,
              "eps_inside": True}),
    ("adam", {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-4, "bias_correction": False,
              "eps_inside": True}),
    ("nadam", {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "constant_momentum": True}),
    ("nadam", {"lr": 0.01, "betas": (0.7, 0.99), "eps": 1e-6, "constant_momentum": True,
               "momentum_decay": 0.5}),  # momentum_decay is ignored when constant
]


@pytest.mark.parametrize("name,hp", BEYOND_TORCH, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(BEYOND_TORCH)])
def test_settings_beyond_torch_match_equations(name, hp):
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal(11)
    grads = [rng.standard_normal(11) * 10.0 ** ((k % 5) - 2.0) for k in range(300)]
    p = torch.tensor(w0, requires_grad=True)
    opt = torch_optim.CLASSES[name]([p], **hp)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    expected = reference_run(name, hp, w0, grads)
    assert not np.allclose(expected, w0)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-12, atol=0)


def test_nadam_constant_momentum_differs_from_scheduled():
    """Guard against constant_momentum being silently ignored."""
    gen = torch.Generator().manual_seed(3)
    w0 = torch.randn(5, generator=gen, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    oa, ob = NAdam([a], lr=0.01, constant_momentum=True), NAdam([b], lr=0.01)
    g = torch.randn(5, generator=gen, dtype=torch.float64)
    a.grad, b.grad = g.clone(), g.clone()
    oa.step()
    ob.step()
    assert not torch.allclose(a, b, rtol=1e-6, atol=0)


# --- a real network ------------------------------------------------------------------------


def small_net(device, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_network_training_identical_to_torch(name, device):
    gen = torch.Generator().manual_seed(11)
    X = torch.randn(32, 4, generator=gen).to(device)
    Y = torch.randn(32, 3, generator=gen).to(device)
    nets = [small_net(device), small_net(device)]
    assert all(p.dtype == torch.float32 for p in nets[0].parameters())
    start = [p.detach().clone() for p in nets[0].parameters()]
    hp = {k: v for k, v in RICH[name].items() if k != "lr"}
    hp["lr"] = 1e-2 if name != "adadelta" else 1.0
    with twin_context(name):
        ours, theirs = make_pair(name, nets[0].parameters(), nets[1].parameters(), hp)
        for _ in range(50):
            for net, opt in zip(nets, (ours, theirs)):
                opt.zero_grad()
                nn.functional.mse_loss(net(X), Y).backward()
                opt.step()
    for a, b, s in zip(nets[0].parameters(), nets[1].parameters(), start):
        assert a.dtype == torch.float32 and a.device.type == device
        assert not torch.equal(a, s)
        assert torch.equal(a, b)


# --- parameter groups, closure, None gradients --------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_two_param_groups_with_different_lr(name):
    gen = torch.Generator().manual_seed(21)
    w0 = [torch.randn(6, generator=gen, dtype=torch.float64) for _ in range(2)]
    ours_p = [w.clone().requires_grad_() for w in w0]
    torch_p = [w.clone().requires_grad_() for w in w0]
    hp = dict(RICH[name])
    lr = hp.pop("lr")

    def groups(ps):
        return [{"params": [ps[0]], "lr": lr}, {"params": [ps[1]], "lr": lr / 10}]

    with twin_context(name):
        ours, theirs = make_pair(name, groups(ours_p), groups(torch_p), hp)
        assert [g["lr"] for g in ours.param_groups] == [lr, lr / 10]
        for k in range(100):
            for a, b in zip(ours_p, torch_p):
                g = noisy_grad(a, gen, k)
                a.grad, b.grad = g.clone(), g.clone()
            ours.step()
            theirs.step()
    for a, b in zip(ours_p, torch_p):
        assert torch.equal(a, b)
    # The second group's lr is really used: with the first group's lr it lands elsewhere.
    gen = torch.Generator().manual_seed(21)
    w0 = [torch.randn(6, generator=gen, dtype=torch.float64) for _ in range(2)]
    same_lr = [w.clone().requires_grad_() for w in w0]
    with twin_context(name):
        opt = torch_optim.CLASSES[name](same_lr, lr=lr, **hp)
        for k in range(100):
            for a in same_lr:
                a.grad = noisy_grad(a, gen, k)
            opt.step()
    assert torch.equal(same_lr[0], ours_p[0])
    assert not torch.equal(same_lr[1], ours_p[1])


def test_param_groups_with_different_betas_and_flags():
    gen = torch.Generator().manual_seed(4)
    w0 = [torch.randn(6, generator=gen, dtype=torch.float64) for _ in range(3)]
    ours_p = [w.clone().requires_grad_() for w in w0]
    torch_p = [w.clone().requires_grad_() for w in w0]

    def groups(ps):
        return [
            {"params": [ps[0]]},
            {"params": [ps[1]], "betas": (0.5, 0.9), "weight_decay": 0.1},
            {"params": [ps[2]], "amsgrad": True, "eps": 1e-4},
        ]

    ours = Adam(groups(ours_p), lr=0.01)
    theirs = torch.optim.Adam(groups(torch_p), lr=0.01, foreach=False)
    for k in range(100):
        for a, b in zip(ours_p, torch_p):
            g = noisy_grad(a, gen, k)
            a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
    for a, b in zip(ours_p, torch_p):
        assert torch.equal(a, b)
    assert "max_exp_avg_sq" in ours.state[ours_p[2]]
    assert "max_exp_avg_sq" not in ours.state[ours_p[0]]


@pytest.mark.parametrize("name", NAMES)
def test_closure_is_called_and_its_loss_returned(name):
    target = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    w0 = torch.zeros(3, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    with twin_context(name):
        ours, theirs = make_pair(name, [a], [b], RICH[name])

        def closure_for(w, opt):
            def closure():
                opt.zero_grad()
                loss = ((w - target) ** 2).sum()
                loss.backward()
                return loss
            return closure

        for _ in range(20):
            loss_a = ours.step(closure_for(a, ours))
            loss_b = theirs.step(closure_for(b, theirs))
            assert isinstance(loss_a, torch.Tensor) and torch.equal(loss_a, loss_b)
    assert not torch.equal(a, w0)
    assert torch.equal(a, b)
    assert ours.step() is None  # without a closure: no loss


@pytest.mark.parametrize("name", NAMES)
def test_params_without_grad_are_skipped(name):
    a = torch.ones(4, dtype=torch.float64, requires_grad=True)
    frozen = torch.full((2,), 5.0, dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_()
    with twin_context(name):
        ours, theirs = make_pair(name, [a, frozen], [b], RICH[name])
        for _ in range(3):
            a.grad = torch.full((4,), 0.5, dtype=torch.float64)
            b.grad = a.grad.clone()
            ours.step()
            theirs.step()
    assert frozen.grad is None
    assert torch.equal(frozen, torch.full((2,), 5.0, dtype=torch.float64))
    assert frozen not in ours.state
    assert torch.equal(a, b) and not torch.equal(a, torch.ones(4, dtype=torch.float64))


# --- state_dict ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_identically(name):
    gen = torch.Generator().manual_seed(8)
    w0 = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    grads = [torch.randn(3, 4, generator=gen, dtype=torch.float64) for _ in range(100)]
    cls = torch_optim.CLASSES[name]

    # uninterrupted run
    a = w0.clone().requires_grad_()
    opt_a = cls([a], **RICH[name])
    for g in grads:
        a.grad = g.clone()
        opt_a.step()

    # 50 steps, save (through torch.save, as a checkpoint would), rebuild, 50 more
    b = w0.clone().requires_grad_()
    opt_b = cls([b], **RICH[name])
    for g in grads[:50]:
        b.grad = g.clone()
        opt_b.step()
    buffer = io.BytesIO()
    torch.save({"w": b.detach().clone(), "opt": opt_b.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=False)
    c = checkpoint["w"].clone().requires_grad_()
    opt_c = cls([c], lr=123.0)  # hyperparameters must come from the checkpoint
    opt_c.load_state_dict(checkpoint["opt"])
    assert opt_c.param_groups[0]["lr"] == RICH[name]["lr"]
    assert opt_c.state[c]["step"] == 50 and isinstance(opt_c.state[c]["step"], int)
    for g in grads[50:]:
        c.grad = g.clone()
        opt_c.step()
    assert torch.equal(a, c)
    assert opt_a.state_dict()["state"][0].keys() == opt_c.state_dict()["state"][0].keys()


def test_load_state_dict_moves_state_to_the_new_params_dtype():
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = Adam([a], lr=0.1)
    a.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    b = torch.ones(3, dtype=torch.float32, requires_grad=True)
    opt_b = Adam([b], lr=0.1)
    opt_b.load_state_dict(opt.state_dict())
    assert opt_b.state[b]["exp_avg"].dtype == torch.float32
    b.grad = torch.ones(3, dtype=torch.float32)
    opt_b.step()
    assert b.dtype == torch.float32


# --- dtype and device ------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32_on_device(name, device):
    p = torch.linspace(-1, 1, 6, device=device).requires_grad_()
    q = p.detach().clone().requires_grad_()
    assert p.dtype == torch.float32
    with twin_context(name):
        ours, theirs = make_pair(name, [p], [q], RICH[name])
        for k in range(5):
            p.grad = torch.full_like(p, 0.1 * (k + 1)) * torch.arange(6, device=device)
            q.grad = p.grad.clone()
            ours.step()
            theirs.step()
    assert p.dtype == torch.float32 and p.device.type == device
    assert torch.equal(p, q)  # float32 arithmetic is torch's too, bit for bit
    tensors = [v for v in ours.state[p].values() if isinstance(v, torch.Tensor)]
    assert bool(tensors) == (name != "sgd")  # plain SGD needs no state beyond t
    for v in tensors:
        assert v.dtype == torch.float32 and v.device == p.device and v.shape == p.shape
    assert isinstance(ours.state[p]["step"], int) and ours.state[p]["step"] == 5


# --- the registry and the defaults -----------------------------------------------------------


def test_classes_registry():
    assert list(torch_optim.CLASSES) == list(torch_optim.TORCH_TWINS) == list(optim.RULES)
    for cls in torch_optim.CLASSES.values():
        assert issubclass(cls, torch.optim.Optimizer)
        assert cls.__doc__ and "eta" in cls.__doc__


def _defaults(fn):
    return {
        k: v.default
        for k, v in inspect.signature(fn).parameters.items()
        if v.default is not inspect.Parameter.empty
    }


@pytest.mark.parametrize("name", NAMES)
def test_defaults_match_torch(name):
    """The shared keywords have torch's defaults, except where the twin's keywords select
    the rule (momentum=0.9 for Momentum/Nesterov, torch's SGD has 0: no momentum)."""
    ours = _defaults(torch_optim.CLASSES[name].__init__)
    cls, twin_kwargs = torch_optim.TORCH_TWINS[name]
    theirs = _defaults(cls.__init__)
    shared = set(ours) & set(theirs)
    assert {"lr", "weight_decay", "maximize"} <= shared
    for key in shared:
        expected = twin_kwargs.get(key, theirs[key])
        assert ours[key] == expected, f"{name}.{key}: {ours[key]} vs torch {expected}"
    p = torch.zeros(2, requires_grad=True)
    opt = torch_optim.CLASSES[name]([p])
    assert {key: opt.defaults[key] for key in ours} == ours
    # the switches that make a variant are in its defaults, as in torch's AdamW
    assert {key: opt.defaults[key] for key in twin_kwargs} == twin_kwargs


VARIANTS = [(AMSGrad, Adam, {"amsgrad": True}), (AdamW, Adam, {"decoupled_weight_decay": True,
                                                               "weight_decay": 1e-2}),
            (Momentum, SGD, {"momentum": 0.9}), (Nesterov, SGD, {"momentum": 0.9,
                                                                 "nesterov": True})]


@pytest.mark.parametrize("variant,base,switch", VARIANTS, ids=[v[0].__name__ for v in VARIANTS])
def test_variants_are_their_base_class_with_a_switch(variant, base, switch):
    gen = torch.Generator().manual_seed(2)
    w0 = torch.randn(8, generator=gen, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    opt_a, opt_b = variant([a], lr=0.01), base([b], lr=0.01, **switch)
    assert isinstance(opt_a, base) and opt_a.defaults == opt_b.defaults
    for k in range(20):
        g = noisy_grad(a, gen, k)
        a.grad, b.grad = g.clone(), g.clone()
        opt_a.step()
        opt_b.step()
    assert torch.equal(a, b)


# --- torch's keywords: maximize, a Tensor lr, implementation switches ---------------------


@pytest.mark.parametrize("name", NAMES)
def test_maximize_ascends_what_minimize_descends(name):
    """maximize=True on f is minimize on -f: the same steps, bit for bit."""
    gen = torch.Generator().manual_seed(6)
    w0 = torch.randn(5, generator=gen, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    with twin_context(name):
        up = torch_optim.CLASSES[name]([a], **RICH[name], maximize=True)
        down = torch_optim.CLASSES[name]([b], **RICH[name])
        for k in range(30):
            g = noisy_grad(a, gen, k)
            a.grad, b.grad = -g, g.clone()
            up.step()
            down.step()
    assert not torch.equal(a, w0) and torch.equal(a, b)


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adam", "nadam", "adamw"])
def test_tensor_lr_is_read_as_its_value(name):
    """A one-element Tensor lr (float64 here) gives the steps of the same number, also
    after a scheduler changed it in place; torch itself accepts both."""
    gen = torch.Generator().manual_seed(7)
    w0 = torch.randn(6, generator=gen, dtype=torch.float64)
    a, b, c = (w0.clone().requires_grad_() for _ in range(3))
    hp = {k: v for k, v in RICH[name].items() if k != "lr"}
    with twin_context(name):
        ours = torch_optim.CLASSES[name]([a], lr=torch.tensor(0.02, dtype=torch.float64), **hp)
        plain = torch_optim.CLASSES[name]([b], lr=0.02, **hp)
        cls, kwargs = torch_twin(name, hp)
        theirs = cls([c], lr=torch.tensor(0.02, dtype=torch.float64), foreach=False, **kwargs)
        for k in range(20):
            if k == 10:
                for opt in (ours, theirs):
                    opt.param_groups[0]["lr"].fill_(0.005)
                plain.param_groups[0]["lr"] = 0.005
            g = noisy_grad(a, gen, k)
            a.grad, b.grad, c.grad = g.clone(), g.clone(), g.clone()
            for opt in (ours, plain, theirs):
                opt.step()
    assert torch.equal(a, b)
    torch.testing.assert_close(a, c, rtol=1e-12, atol=0)


def test_bad_tensor_lr_is_rejected():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"SGD: lr must be .*one-element Tensor"):
        SGD([p], lr=torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"Adam: lr must be a finite number >= 0"):
        Adam([p], lr=torch.tensor(-0.1))


@pytest.mark.parametrize("name", NAMES)
def test_implementation_keywords_are_accepted_and_change_nothing(name):
    gen = torch.Generator().manual_seed(8)
    w0 = torch.randn(5, generator=gen, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    cls = torch_optim.CLASSES[name]
    with twin_context(name):
        plain = cls([a], **RICH[name])
        switched = cls([b], **RICH[name], foreach=True, fused=False, capturable=False,
                       differentiable=False)
        for k in range(10):
            g = noisy_grad(a, gen, k)
            a.grad, b.grad = g.clone(), g.clone()
            plain.step()
            switched.step()
    assert torch.equal(a, b)
    assert "foreach" not in switched.defaults  # they select torch's code, not a rule
    p = [torch.zeros(2, requires_grad=True)]
    for key in ("capturable", "differentiable"):
        with pytest.raises(ValueError, match=rf"{cls.__name__}: {key} must be False"):
            cls(p, **{key: True})
    with pytest.raises(TypeError, match="foreach must be True or False, got 1"):
        cls(p, foreach=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'maximise'"):
        cls(p, maximise=True)


# --- torch's own optimizer test inputs ------------------------------------------------------
# Before maximize, SGD's momentum/dampening/nesterov, NAdam's decoupled_weight_decay and a
# Tensor lr were accepted, the ports matched 33 of these 52 configurations.


@pytest.mark.parametrize("cls_name", OPTIM_DB_CLASSES)
def test_drop_in_on_torchs_own_test_inputs(cls_name, optim_db):
    """Every CPU configuration of torch's optimizer database (optim_db) for this class: our
    class of the same name, given the same keywords, takes torch's steps (float64, rtol
    1e-6; a float32 Tensor lr makes torch round some step sizes to float32)."""
    configs = [(desc, kw) for cls, desc, kw in optim_db if cls == cls_name]
    assert configs, f"optim_db has no CPU configuration of {cls_name}"
    w0, grad, steps = optim_db_problem()
    failures = []
    for desc, kwargs in configs:
        expected = run_torch_optimizer(getattr(torch.optim, cls_name), kwargs, w0, grad, steps)
        got = run_torch_optimizer(getattr(torch_optim, cls_name), kwargs, w0, grad, steps)
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-12):
            failures.append(f"{desc} {kwargs}")
    assert not failures, f"{len(failures)} of {len(configs)} differ: {failures}"


# --- bad input -------------------------------------------------------------------------------


BAD = [
    (SGD, {"lr": -0.1}, ValueError, "lr"),
    (SGD, {"lr": float("nan")}, ValueError, "lr"),
    (SGD, {"lr": True}, TypeError, "lr"),
    (SGD, {"lr": lambda k: 0.1}, TypeError, "lr_scheduler"),
    (SGD, {"weight_decay": -1e-4}, ValueError, "weight_decay"),
    (Momentum, {"momentum": 1.0}, ValueError, "momentum"),
    (Momentum, {"momentum": -0.1}, ValueError, "momentum"),
    (Momentum, {"dampening": 1.5}, ValueError, "dampening"),
    (Nesterov, {"momentum": "0.9"}, TypeError, "momentum"),
    (Nesterov, {"momentum": 0.0}, ValueError, "momentum"),
    (Nesterov, {"dampening": 0.1}, ValueError, "dampening"),
    (Adagrad, {"lr_decay": -1.0}, ValueError, "lr_decay"),
    (Adagrad, {"initial_accumulator_value": -0.1}, ValueError, "initial_accumulator_value"),
    (Adagrad, {"eps": -1e-10}, ValueError, "eps"),
    (RMSprop, {"alpha": 1.0}, ValueError, "alpha"),
    (RMSprop, {"centered": 1}, TypeError, "centered"),
    (RMSprop, {"eps_inside": "yes"}, TypeError, "eps_inside"),
    (Adadelta, {"rho": 1.5}, ValueError, "rho"),
    (Adam, {"betas": (0.9, 1.0)}, ValueError, r"betas\[1\]"),
    (Adam, {"betas": (-0.1, 0.999)}, ValueError, r"betas\[0\]"),
    (Adam, {"betas": 0.9}, TypeError, "betas"),
    (Adam, {"amsgrad": None}, TypeError, "amsgrad"),
    (Adam, {"bias_correction": 0}, TypeError, "bias_correction"),
    (Adamax, {"eps": float("inf")}, ValueError, "eps"),
    (NAdam, {"momentum_decay": -4e-3}, ValueError, "momentum_decay"),
    (NAdam, {"constant_momentum": "true"}, TypeError, "constant_momentum"),
    (AMSGrad, {"betas": (0.9,)}, TypeError, "betas"),
    (AdamW, {"weight_decay": float("nan")}, ValueError, "weight_decay"),
]


@pytest.mark.parametrize("cls,kwargs,exc,match", BAD,
                         ids=[f"{c.__name__}-{m}" for c, _, _, m in BAD])
def test_bad_hyperparameters_are_rejected(cls, kwargs, exc, match):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(exc, match=match):
        cls([p], **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_bad_hyperparameter_in_a_param_group_is_rejected(name):
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        torch_optim.CLASSES[name]([{"params": [a]}, {"params": [b], "lr": -1.0}])
    opt = torch_optim.CLASSES[name]([a])
    with pytest.raises(ValueError, match="weight_decay"):
        opt.add_param_group({"params": [b], "weight_decay": -1.0})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradient_is_rejected(name):
    emb = nn.Embedding(5, 3, sparse=True)
    opt = torch_optim.CLASSES[name](emb.parameters())
    emb(torch.tensor([0, 2])).sum().backward()
    assert emb.weight.grad.is_sparse
    before = emb.weight.detach().clone()
    with pytest.raises(TypeError, match="sparse"):
        opt.step()
    assert torch.equal(emb.weight, before)


def test_complex_and_integer_params_are_rejected():
    with pytest.raises(TypeError, match="floating-point"):
        Adam([torch.zeros(2, dtype=torch.complex64, requires_grad=True)])
    with pytest.raises(TypeError, match="floating-point"):
        SGD([torch.zeros(2, dtype=torch.int64)])


def test_validation_messages_name_the_accepted_values():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError) as info:
        Adam([p], betas=(0.9, 1.0))
    message = str(info.value)
    assert "Adam" in message and "[0, 1)" in message and "1.0" in message


def test_step_does_not_build_a_graph():
    p = torch.ones(3, requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    assert p.grad_fn is None and p.is_leaf
    assert opt.state[p]["exp_avg"].requires_grad is False
    assert copy.deepcopy(opt.state_dict())["state"][0]["step"] == 1  # plain, copyable data


@pytest.mark.parametrize("name", ["momentum", "adam", "rmsprop"])
def test_works_with_torch_lr_schedulers_and_hooks(name):
    gen = torch.Generator().manual_seed(9)
    w0 = torch.randn(4, generator=gen, dtype=torch.float64)
    a, b = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    ours, theirs = make_pair(name, [a], [b], RICH[name])
    sched_a = torch.optim.lr_scheduler.StepLR(ours, step_size=10, gamma=0.5)
    sched_b = torch.optim.lr_scheduler.StepLR(theirs, step_size=10, gamma=0.5)
    calls = []
    ours.register_step_post_hook(lambda opt, args, kwargs: calls.append(opt))
    for _ in range(35):
        g = torch.randn(4, generator=gen, dtype=torch.float64)
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
        sched_a.step()
        sched_b.step()
    assert ours.param_groups[0]["lr"] == RICH[name]["lr"] * 0.5**3
    assert len(calls) == 35 and calls[0] is ours
    assert torch.equal(a, b)
