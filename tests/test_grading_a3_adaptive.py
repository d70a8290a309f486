"""Assignment 3 references against torch.optim (float64, many steps) and bias-correction
closed forms."""
import numpy as np
import pytest
import torch

from course_lib.grading import a3_adaptive as a3

RNG = np.random.default_rng(0)
GRADS = RNG.standard_normal((60, 5))
W0 = RNG.standard_normal(5)


def _torch(cls, **kw):
    p = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kw)
    out = []
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.stack(out)


def _ours(step, init, **kw):
    w, state, out = W0, init(W0), []
    for g in GRADS:
        w, state = step(w, g, state, **kw)
        out.append(w)
    return np.stack(out)


@pytest.mark.parametrize("step, init, cls, kw", [
    (a3.adagrad_step, a3.adagrad_init, torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-10}),
    (a3.rmsprop_step, a3.rmsprop_init, torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-8}),
    (a3.adadelta_step, a3.adadelta_init, torch.optim.Adadelta, {"lr": 1.0, "rho": 0.9, "eps": 1e-6}),
], ids=["adagrad", "rmsprop", "adadelta"])
def test_rules_match_torch(step, init, cls, kw):
    assert np.allclose(_ours(step, init, **kw), _torch(cls, **kw), rtol=1e-10, atol=1e-13)


def test_adam_matches_torch():
    ours = _ours(a3.adam_step, a3.adam_init, lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8)
    ref = _torch(torch.optim.Adam, lr=0.01, betas=(0.8, 0.99), eps=1e-8)
    assert np.allclose(ours, ref, rtol=1e-10, atol=1e-13)


def test_adam_first_step_is_lr_times_sign_of_g():
    g = np.array([3.0, -1e-3, 0.0])
    w, state = a3.adam_step(np.zeros(3), g, a3.adam_init(np.zeros(3)), lr=0.1, eps=0.0 + 1e-12)
    assert np.allclose(w[:2], -0.1 * np.sign(g[:2]), rtol=1e-6) and w[2] == 0.0
    assert state["t"] == 1


def test_adam_keeps_float32_and_leaves_state_untouched():
    w = np.ones(3, np.float32)
    state = a3.adam_init(w)
    w2, s2 = a3.adam_step(w, np.full(3, 0.5, np.float32), state)
    assert w2.dtype == s2["m"].dtype == s2["v"].dtype == np.float32
    assert state["t"] == 0 and not state["m"].any()
