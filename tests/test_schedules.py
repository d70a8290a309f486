"""course_lib.schedules against torch.optim.lr_scheduler, np.interp and closed forms."""

import math
import re

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from course_lib import schedules as S

N = 300  # steps compared against torch


def torch_lrs(make_scheduler, lr, n=N):
    """Learning rate used by each of the first n optimizer steps of a real torch loop."""
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        p.grad = torch.ones_like(p)
        opt.step()
        sched.step()
    return np.array(out)


def ours(schedule, n=N):
    vals = np.array([schedule(k) for k in range(n)])
    # values(n) is the vectorised path and must agree with the scalar one exactly.
    np.testing.assert_array_equal(schedule.values(n), vals)
    return vals


def test_step_decay_matches_steplr():
    ref = torch_lrs(lambda o: tls.StepLR(o, step_size=30, gamma=0.3), lr=0.1)
    np.testing.assert_allclose(ours(S.step_decay(0.1, 30, gamma=0.3)), ref, rtol=1e-12)
    assert ref[29] == pytest.approx(0.1) and ref[30] == pytest.approx(0.03)


def test_multistep_matches_multisteplr():
    ms = [50, 120, 200]
    ref = torch_lrs(lambda o: tls.MultiStepLR(o, milestones=ms, gamma=0.2), lr=0.5)
    got = ours(S.multistep(0.5, ms, gamma=0.2))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert got[49] == 0.5 and got[50] == pytest.approx(0.1) and got[299] == pytest.approx(0.004)


def test_exponential_matches_exponentiallr():
    ref = torch_lrs(lambda o: tls.ExponentialLR(o, gamma=0.99), lr=0.2)
    np.testing.assert_allclose(ours(S.exponential(0.2, 0.99)), ref, rtol=1e-12)


@pytest.mark.parametrize("up, down", [(20, 30), (25, None), (7, 3)])
def test_cyclic_matches_cycliclr_triangular(up, down):
    ref = torch_lrs(
        lambda o: tls.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=up,
                               step_size_down=down, mode="triangular", cycle_momentum=False),
        lr=0.01,
    )
    got = ours(S.cyclic(0.01, 0.1, step_size_up=up, step_size_down=down))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert got[0] == 0.01 and got[up] == pytest.approx(0.1)


def test_cyclic_shape_by_hand():
    s = S.cyclic(1.0, 3.0, step_size_up=2, step_size_down=4)
    # up over 2 steps, down over 4, period 6
    np.testing.assert_allclose(s.values(8), [1, 2, 3, 2.5, 2, 1.5, 1, 2])


@pytest.mark.parametrize("eta_min", [0.0, 1e-3])
def test_cosine_matches_recursive_torch_for_first_T_max_steps(eta_min):
    T = 100
    ref = torch_lrs(lambda o: tls.CosineAnnealingLR(o, T_max=T, eta_min=eta_min), lr=0.1,
                    n=T + 1)
    got = ours(S.cosine(0.1, T, eta_min=eta_min), n=T + 1)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    assert got[0] == 0.1 and got[T] == pytest.approx(eta_min, abs=1e-15)
    assert got[T // 2] == pytest.approx((0.1 + eta_min) / 2)


def test_cosine_matches_torch_closed_form_beyond_T_max():
    T = 80
    p = torch.nn.Parameter(torch.zeros(1))
    sched = tls.CosineAnnealingLR(torch.optim.SGD([p], lr=0.1), T_max=T, eta_min=0.01)
    ref = []
    for k in range(N):
        sched.last_epoch = k
        ref.append(sched._get_closed_form_lr()[0])
    np.testing.assert_allclose(ours(S.cosine(0.1, T, eta_min=0.01)), ref, rtol=1e-12)


@pytest.mark.parametrize("T_0, T_mult", [(10, 1), (10, 2), (7, 3)])
def test_cosine_warm_restarts_matches_torch(T_0, T_mult):
    ref = torch_lrs(
        lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=1e-3),
        lr=0.1,
    )
    got = ours(S.cosine_warm_restarts(0.1, T_0, T_mult=T_mult, eta_min=1e-3))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # restarts: back to the initial rate at the cycle starts
    starts = np.cumsum([0] + [T_0 * T_mult**i for i in range(6)])
    for st in starts[starts < N]:
        assert got[st] == pytest.approx(0.1, rel=1e-15)


def test_cosine_warm_restarts_single_value_far_out():
    # Cycles 1, 2, 4, ..., 2^29 start at 2^i - 1; k = 2^30 - 1 + 5 is 5 steps into cycle 30.
    s = S.cosine_warm_restarts(1.0, 1, T_mult=2)
    k = 2**30 - 1 + 5
    assert s(k) == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 2**30)), rel=1e-15)


def _noam_by_hand(step, d_model, warmup, factor):
    n = step + 1
    return factor * d_model ** -0.5 * min(n ** -0.5, n * warmup ** -1.5)


@pytest.mark.parametrize("d_model, warmup, factor", [(512, 100, 1.0), (64, 40, 2.0)])
def test_noam_matches_lambdalr(d_model, warmup, factor):
    ref = torch_lrs(
        lambda o: tls.LambdaLR(o, lambda k: _noam_by_hand(k, d_model, warmup, factor)),
        lr=1.0,
    )
    got = ours(S.noam(d_model, warmup, factor=factor))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    peak = int(np.argmax(got))
    assert peak == warmup - 1
    assert got[peak] == pytest.approx(factor / math.sqrt(d_model * warmup), rel=1e-14)


def test_linear_warmup_matches_linearlr():
    W = 50
    ref = torch_lrs(
        lambda o: tls.LinearLR(o, start_factor=1 / W, end_factor=1.0, total_iters=W - 1),
        lr=0.3,
    )
    got = ours(S.linear_warmup(0.3, W))
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert got[0] == pytest.approx(0.3 / W) and got[W - 1] == 0.3 and got[-1] == 0.3


def test_warmup_cosine_matches_sequentiallr():
    W, T, lr, eta_min = 30, 300, 0.1, 1e-4

    def make(o):
        warm = tls.LinearLR(o, start_factor=1 / W, end_factor=1.0, total_iters=W - 1)
        cos = tls.CosineAnnealingLR(o, T_max=T - W, eta_min=eta_min)
        return tls.SequentialLR(o, [warm, cos], milestones=[W])

    ref = torch_lrs(make, lr=lr, n=T + 1)
    got = ours(S.warmup_cosine(lr, W, T, eta_min=eta_min), n=T + 1)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert got[W - 1] == lr and got[W] == lr and got[T] == pytest.approx(eta_min)
    # after total_steps the rate stays at eta_min (torch's cosine would climb back up)
    np.testing.assert_allclose(S.warmup_cosine(lr, W, T, eta_min).values(T + 50)[T:], eta_min)


def test_warmup_cosine_without_warmup_is_cosine():
    a = S.warmup_cosine(0.1, 0, 120, eta_min=0.002).values(121)
    b = S.cosine(0.1, 120, eta_min=0.002).values(121)
    np.testing.assert_allclose(a, b, rtol=1e-15)


def test_piecewise_linear_matches_np_interp():
    knots, values = [10, 50, 200, 250], [0.0, 0.1, 0.01, 0.05]
    got = ours(S.piecewise_linear(knots, values), n=N)
    np.testing.assert_allclose(got, np.interp(np.arange(N), knots, values), rtol=1e-15)
    assert got[30] == pytest.approx(0.05) and got[0] == 0.0 and got[299] == 0.05


def test_constant():
    np.testing.assert_array_equal(ours(S.constant(0.05), n=10), np.full(10, 0.05))


def test_schedules_registry_and_names():
    assert set(S.SCHEDULES) == {
        "constant", "step_decay", "multistep", "exponential", "piecewise_linear", "cyclic",
        "cosine", "cosine_warm_restarts", "noam", "warmup_cosine", "linear_warmup",
    }
    s = S.SCHEDULES["cosine"](0.1, 10)
    assert isinstance(s, S.Schedule) and s.name == "cosine" and "T_max=10" in repr(s)
    for name, factory in S.SCHEDULES.items():
        assert factory.__doc__ and "eta" in factory.__doc__, name


def test_step_index_types():
    s = S.exponential(1.0, 0.5)
    assert s(np.int64(3)) == s(3) == 0.125  # powers of two: exact
    assert isinstance(s(np.int32(2)), float)
    for bad in (-1, np.int64(-2)):
        with pytest.raises(ValueError, match="^k must be a non-negative integer step count, got " + re.escape(repr(bad))):
            s(bad)
    for bad in (1.0, 2.5, "3", None, True):  # a wrong type: TypeError, naming the type
        with pytest.raises(TypeError, match=r"^k must be a non-negative integer step count, got .* of type"):
            s(bad)
    with pytest.raises(ValueError):
        s.values(-1)


@pytest.mark.parametrize(
    "factory, kwargs, argname",
    [
        (S.constant, dict(lr=-0.1), "lr"),
        (S.step_decay, dict(lr=-1.0, step_size=10), "lr"),
        (S.step_decay, dict(lr=0.1, step_size=0), "step_size"),
        (S.step_decay, dict(lr=0.1, step_size=10, gamma=0.0), "gamma"),
        (S.multistep, dict(lr=0.1, milestones=[30, 20]), "milestones"),
        (S.multistep, dict(lr=0.1, milestones=[0, 20]), "milestones"),
        (S.multistep, dict(lr=0.1, milestones=[10], gamma=-0.5), "gamma"),
        (S.exponential, dict(lr=0.1, gamma=0.0), "gamma"),
        (S.exponential, dict(lr=float("nan"), gamma=0.9), "lr"),
        (S.piecewise_linear, dict(knots=[0, 10, 10], values=[1, 2, 3]), "knots"),
        (S.piecewise_linear, dict(knots=[0, 10, 5], values=[1, 2, 3]), "knots"),
        (S.piecewise_linear, dict(knots=[0, 10], values=[1, 2, 3]), "values"),
        (S.piecewise_linear, dict(knots=[0, 10], values=[1, -2]), "values"),
        (S.cyclic, dict(base_lr=0.1, max_lr=0.01), "max_lr"),
        (S.cyclic, dict(base_lr=-0.1, max_lr=0.01), "base_lr"),
        (S.cyclic, dict(base_lr=0.01, max_lr=0.1, step_size_up=0), "step_size_up"),
        (S.cyclic, dict(base_lr=0.01, max_lr=0.1, step_size_down=-3), "step_size_down"),
        (S.cosine, dict(lr=0.1, T_max=0), "T_max"),
        (S.cosine, dict(lr=0.1, T_max=10, eta_min=0.2), "eta_min"),
        (S.cosine_warm_restarts, dict(lr=0.1, T_0=0), "T_0"),
        (S.cosine_warm_restarts, dict(lr=0.1, T_0=10, T_mult=0), "T_mult"),
        (S.noam, dict(d_model=0, warmup_steps=10), "d_model"),
        (S.noam, dict(d_model=512, warmup_steps=0), "warmup_steps"),
        (S.noam, dict(d_model=512, warmup_steps=10, factor=0), "factor"),
        (S.linear_warmup, dict(lr=0.1, warmup_steps=0), "warmup_steps"),
        (S.warmup_cosine, dict(lr=0.1, warmup_steps=10, total_steps=10), "total_steps"),
        (S.warmup_cosine, dict(lr=0.1, warmup_steps=-1, total_steps=10), "warmup_steps"),
    ],
)
def test_bad_arguments_name_the_argument(factory, kwargs, argname):
    with pytest.raises(ValueError, match=argname):
        factory(**kwargs)


@pytest.mark.parametrize(
    "factory, kwargs, message",
    [
        (S.step_decay, dict(lr=0.1, step_size=2.5), "step_size must be an integer >= 1, got 2.5 of type float"),
        (S.multistep, dict(lr=0.1, milestones=5), "milestones must be a sequence of increasing integers >= 1, got 5"),
        (S.multistep, dict(lr=0.1, milestones=[10, 20.0]), r"milestones\[1\] must be an integer >= 1"),
        (S.exponential, dict(lr="0.1", gamma=0.9), "lr must be a finite number >= 0, got '0.1' of type str"),
        (S.cosine, dict(lr=0.1, T_max=10, eta_min=True), "eta_min must be a number in"),
    ],
)
def test_wrong_types_are_type_errors(factory, kwargs, message):
    with pytest.raises(TypeError, match=message):
        factory(**kwargs)
