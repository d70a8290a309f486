"""Unit tests of course_lib.grading.a4_adam_family: the references against torch (the
catalogue of mistakes is tested for every module in test_grading_core.py)."""
import numpy as np
import pytest
import torch

from course_lib.grading import a4_adam_family as grader
from course_lib.grading import core


# ------------------------------------------------------------------ references vs torch


def _torch_run(opt_cls, w0, grads, **kw):
    # torch keeps scalar state (step, NAdam's mu_product) in the default dtype: float64
    # here, so that the comparison is exact rather than limited by float32 scalars.
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
        opt = opt_cls([p], **kw)
        out = []
        for g in grads:
            p.grad = torch.tensor(g, dtype=torch.float64)
            opt.step()
            out.append(p.detach().numpy().copy())
    finally:
        torch.set_default_dtype(old)
    return np.array(out)


def _ours(step, name, w0, grads, **hp):
    w, state, out = w0, grader.init_state(name, w0), []
    for g in grads:
        w, state = step(w, g, state, **hp)
        out.append(w)
    return np.array(out)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=7)
    # Noisy gradients whose scale shrinks and grows again, over 300 steps.
    grads = [rng.normal(size=7) * (2.0 + np.sin(k / 20)) ** 3 for k in range(300)]
    return w0, grads


@pytest.mark.parametrize("beta2,eps", [(0.999, 1e-8), (0.9, 1e-2)])
def test_adamax_matches_torch(problem, beta2, eps):
    w0, grads = problem
    ours = _ours(grader.adamax_step, "adamax_step", w0, grads, lr=0.01, beta1=0.8, beta2=beta2, eps=eps)
    ref = _torch_run(torch.optim.Adamax, w0, grads, lr=0.01, betas=(0.8, beta2), eps=eps)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("momentum_decay", [4e-3, 0.1])
def test_nadam_matches_torch(problem, momentum_decay):
    w0, grads = problem
    hp = dict(lr=0.01, eps=1e-6)
    ours = _ours(grader.nadam_step, "nadam_step", w0, grads, beta1=0.9, beta2=0.99,
                 momentum_decay=momentum_decay, **hp)
    ref = _torch_run(torch.optim.NAdam, w0, grads, betas=(0.9, 0.99), momentum_decay=momentum_decay, **hp)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_amsgrad_matches_torch_and_differs_from_adam(problem):
    w0, grads = problem
    ours = _ours(grader.amsgrad_step, "amsgrad_step", w0, grads, lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8)
    ref = _torch_run(torch.optim.Adam, w0, grads, lr=0.01, betas=(0.9, 0.99), eps=1e-8, amsgrad=True)
    adam = _torch_run(torch.optim.Adam, w0, grads, lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    assert np.max(np.abs(ours - adam)) > 1e-3


def test_adamw_matches_torch_and_differs_from_l2(problem):
    w0, grads = problem
    hp = dict(lr=0.01, eps=1e-8, weight_decay=0.3)
    ours = _ours(grader.adamw_step, "adamw_step", w0, grads, beta1=0.9, beta2=0.999, **hp)
    ref = _torch_run(torch.optim.AdamW, w0, grads, betas=(0.9, 0.999), **hp)
    l2 = _torch_run(torch.optim.Adam, w0, grads, betas=(0.9, 0.999), **hp)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    assert np.max(np.abs(ours - l2)) > 1e-3


@pytest.mark.parametrize("T_0,T_mult,eta_min", [(10, 1, 0.0), (3, 2, 0.01), (1, 3, 0.0), (5, 2, 0.0)])
def test_sgdr_matches_torch(T_0, T_mult, eta_min):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult, eta_min=eta_min)
    for k in range(400):
        assert grader.sgdr_lr(k, 0.5, T_0, T_mult, eta_min) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        opt.step()
        sched.step()


def test_warmup_is_the_transformer_schedule():
    d_model, warmup = 512, 4000
    lr = d_model**-0.5 * warmup**-0.5  # the Transformer schedule's peak value
    for k in [0, 1, 100, 3998, 3999, 4000, 4001, 10_000, 100_000]:
        s = k + 1
        vaswani = d_model**-0.5 * min(s**-0.5, s * warmup**-1.5)
        assert grader.warmup_rsqrt_lr(k, lr, warmup) == pytest.approx(vaswani, rel=1e-12)
    assert grader.warmup_rsqrt_lr(warmup - 1, 0.3, warmup) == pytest.approx(0.3, rel=1e-15)


def test_float32_stays_float32():
    w = np.ones(3, dtype=np.float32)
    g = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    for name in ("adamax_step", "nadam_step", "amsgrad_step", "adamw_step"):
        w_new, state = getattr(grader, name)(w, g, grader.init_state(name, w))
        assert w_new.dtype == np.float32 and state["m"].dtype == np.float32, name


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError, match="T_0"):
        grader.sgdr_lr(3, 0.1, 0)
    with pytest.raises(ValueError, match="T_mult"):
        grader.sgdr_lr(3, 0.1, 2, T_mult=0)
    with pytest.raises(ValueError, match="warmup_steps"):
        grader.warmup_rsqrt_lr(3, 0.1, 0)
    with pytest.raises(KeyError, match="rule"):
        grader.init_state("adam", np.zeros(2))


def test_mutating_state_in_place_is_reported():
    def adamax_in_place(w, g, state, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        new_w, new_state = grader.adamax_step(w, g, state, lr, beta1, beta2, eps)
        state["m"][...] = new_state["m"]
        return new_w, new_state

    # the contract check names it; the value checks do not charge it twice
    ok, message = core.run_check(grader, "adamax_contract", adamax_in_place)
    assert not ok and "changed its input" in message
    assert set(core.failing_checks(grader, "adamax_step", adamax_in_place)) == {"adamax_contract"}


def test_a_float64_result_costs_only_the_contract_check():
    """Correct values computed in float64 for float32 inputs (np.asarray(w, dtype=float),
    say) lose the contract point of that function, not every part."""
    def adamw_float64(w, g, state, **hp):
        state64 = {k: (np.asarray(v, dtype=float) if k != "t" else v) for k, v in state.items()}
        return grader.adamw_step(np.asarray(w, dtype=float), np.asarray(g, dtype=float), state64, **hp)

    failed = core.failing_checks(grader, "adamw_step", adamw_float64)
    assert set(failed) == {"adamw_contract"} and "expected dtype float32" in failed["adamw_contract"]
