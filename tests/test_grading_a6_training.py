"""Unit tests of course_lib.grading.a6_training: the references against torch and hand-worked
cases, every known mistake fails exactly its checks (and is named), the stub fails
everything, and the Adam checks cannot be passed by delegating to torch.optim.Adam."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.grading import a6_training as grader
from course_lib.grading import core


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: extra threads only add OpenMP stalls on a busy 2-core machine.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class StubAdam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        raise NotImplementedError()

    def step(self, closure=None):
        raise NotImplementedError()


def test_a_stub_optimizer_class_fails_every_adam_check_clearly():
    # test_grading_core stubs every graded name with a function; a student's Adam stub is
    # a class whose methods raise, which must fail the same way.
    failed = core.failing_checks(grader, "Adam", StubAdam)
    assert set(failed) == {c for c, f in grader.FUNCTIONS.items() if f == "Adam"}
    assert all("not implemented yet" in m for m in failed.values())


# ------------------------------------------------------------------------ references


@pytest.mark.parametrize("losses,patience,min_delta,expected", [
    ([1.0, 0.8, 0.7, 0.72, 0.71, 0.69], 2, 0.0, (4, 2)),
    ([1.0, 0.8, 0.7, 0.72, 0.71, 0.69], 3, 0.0, (5, 5)),
    ([1.0, 0.95, 0.94, 0.93, 0.5], 3, 0.1, (3, 0)),
    ([1.0, 1.0, 1.0], 2, 0.0, (2, 0)),
    ([0.4], 1, 0.0, (0, 0)),
])
def test_early_stopping_worked_examples(losses, patience, min_delta, expected):
    assert grader.early_stopping(losses, patience, min_delta) == expected


def test_early_stopping_bad_input():
    with pytest.raises(ValueError, match="patience"):
        grader.early_stopping([1.0], 0)
    with pytest.raises(ValueError, match="val_losses"):
        grader.early_stopping([], 2)


def test_loop_restores_the_state_after_the_best_epoch():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    twin = copy.deepcopy(model)
    X = torch.randn(10, 3, dtype=torch.float64)
    script = iter([1.0, 0.5, 0.7, 0.8, 0.9])

    def train_one_epoch(m):
        m.train()
        with torch.no_grad():
            m(X)  # updates the running statistics in place
            for p in m.parameters():
                p.mul_(1.1)

    stop, best, losses = grader.train_with_early_stopping(model, train_one_epoch, lambda m: next(script), 5, 2)
    assert (stop, best, losses) == (3, 1, [1.0, 0.5, 0.7, 0.8])
    for _ in range(best + 1):  # the state after epoch 1, computed independently
        train_one_epoch(twin)
    for (k, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        assert torch.equal(a, b), k


def test_adam_matches_torch_with_param_groups_and_state_dict():
    def run(cls, resume_at=None):
        torch.manual_seed(3)
        model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
        groups = [{"params": model[0].parameters(), "lr": 0.05},
                  {"params": model[2].parameters(), "weight_decay": 0.2, "betas": (0.5, 0.9)}]
        opt = cls(groups, lr=0.01)
        gen = torch.Generator().manual_seed(4)
        for k in range(40):
            if k == resume_at:
                saved = copy.deepcopy(opt.state_dict())
                opt = cls([{"params": model[0].parameters(), "lr": 1.0}, {"params": model[2].parameters()}])
                opt.load_state_dict(saved)
            x = torch.randn(6, 5, generator=gen, dtype=torch.float64)
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()

    ref = run(torch.optim.Adam)
    np.testing.assert_allclose(run(grader.Adam), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run(grader.Adam, resume_at=17), ref, rtol=1e-12, atol=1e-14)


def test_train_epoch_mean_loss_is_per_example():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).double()
    X, y = torch.randn(10, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    full = F.cross_entropy(model(X), y).item()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    loss = grader.train_epoch(model, opt, X, y, batch_size=4, device="cpu")  # batches 4, 4, 2
    assert isinstance(loss, float) and loss == pytest.approx(full, rel=1e-12)


# -------------------------------------------------------------- no delegation to torch


class AdamFromTorch(torch.optim.Adam):
    pass


class AdamDelegating(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.inner = torch.optim.Adam(self.param_groups)

    def step(self, closure=None):
        return self.inner.step(closure)


@pytest.mark.parametrize("cls,words", [(AdamFromTorch, "not subclass torch.optim.Adam"),
                                       (AdamDelegating, "may not call torch.optim.Adam")])
def test_adam_checks_refuse_torch_adam(cls, words):
    failed = core.failing_checks(grader, "Adam", cls)
    assert set(failed) == {"adam_steps", "adam_state_dict"}
    assert all(words in m for m in failed.values())
    # The guard is lifted afterwards: torch's Adam steps again.
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.ones(2)
    torch.optim.Adam([p], lr=0.5).step()
    assert torch.allclose(p.detach(), torch.full((2,), 0.5))
