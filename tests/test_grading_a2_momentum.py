"""Assignment 2 references against torch.optim and closed forms."""
import numpy as np
import pytest
import torch

from course_lib.grading import a2_momentum as a2


def _torch_run(w0, grad, steps, **kw):
    p = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], **kw)
    out = []
    for _ in range(steps):
        p.grad = torch.tensor(grad(p.detach().numpy()), dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.stack(out)


def _ours(step, w0, grad, steps, lr, mu):
    w, state, out = w0, a2.momentum_init(w0), []
    for _ in range(steps):
        w, state = step(w, grad(w), state, lr, mu)
        out.append(w)
    return np.stack(out)


A = np.array([[3.0, 0.5], [0.5, 1.0]])
GRAD = lambda w: A @ w - np.array([1.0, 2.0])
W0 = np.array([2.0, -1.0])


def test_momentum_step_matches_torch_sgd_momentum():
    ours = _ours(a2.momentum_step, W0, GRAD, 50, 0.1, 0.9)
    assert np.allclose(ours, _torch_run(W0, GRAD, 50, lr=0.1, momentum=0.9), rtol=1e-12, atol=1e-14)


def test_nag_step_matches_torch_sgd_nesterov():
    ours = _ours(a2.nag_step, W0, GRAD, 50, 0.1, 0.9)
    ref = _torch_run(W0, GRAD, 50, lr=0.1, momentum=0.9, nesterov=True)
    assert np.allclose(ours, ref, rtol=1e-12, atol=1e-14)


def test_lookahead_form_tracks_the_framework_form_shifted_by_lr_mu_v():
    w, state = W0, a2.momentum_init(W0)
    wt, st = W0, a2.momentum_init(W0)
    for _ in range(30):
        w, state = a2.nag_lookahead_step(w, GRAD, state, 0.1, 0.9)
        wt, st = a2.nag_step(wt, GRAD(wt), st, 0.1, 0.9)
        assert np.allclose(w - 0.1 * 0.9 * state["v"], wt, rtol=1e-12, atol=1e-12)
        assert np.allclose(state["v"], st["v"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("L, ell", [(10.0, 1.0), (400.0, 4.0)])
def test_polyak_parameters_give_contraction_sqrt_mu_on_both_extreme_eigenvalues(L, ell):
    lr, mu = a2.polyak_parameters(L, ell)
    kappa = L / ell
    for lam in (ell, L):
        # Heavy ball on the eigenvector of lam: (w_{k+1}, w_k) = M (w_k, w_{k-1}).
        M = np.array([[1 + mu - lr * lam, -mu], [1.0, 0.0]])
        rho = max(abs(np.linalg.eigvals(M)))
        assert rho == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1), rel=1e-6)


def test_iterations_to_tolerance_closed_form_for_gradient_descent():
    # mu = 0, A = [[a]]: |A w_k| = a |w0| |1 - lr a|^k.
    a, w0, lr, tol = 2.0, 5.0, 0.2, 1e-7
    expected = int(np.ceil(np.log(tol / (a * w0)) / np.log(abs(1 - lr * a))))
    assert a2.iterations_to_tolerance(np.array([[a]]), np.array([w0]), lr, 0.0, tol) == expected
    assert a2.iterations_to_tolerance(np.eye(2), np.zeros(2), 0.1, 0.9, 1e-6) == 0


def test_heavy_ball_needs_about_sqrt_kappa_iterations_gd_about_kappa():
    counts = {}
    for kappa in (100.0, 10_000.0):
        A = np.diag(np.linspace(1.0, kappa, 8))
        lr, mu = a2.polyak_parameters(kappa, 1.0)
        counts[kappa] = (a2.iterations_to_tolerance(A, np.ones(8), 1 / kappa, 0.0, 1e-6, 10**6),
                         a2.iterations_to_tolerance(A, np.ones(8), lr, mu, 1e-6, 10**6))
    gd_ratio = counts[10_000.0][0] / counts[100.0][0]
    hb_ratio = counts[10_000.0][1] / counts[100.0][1]
    assert 80 < gd_ratio < 130 and 7 < hb_ratio < 14
