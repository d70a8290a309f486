"""course_lib.distributed: data-parallel SGD, the ring all-reduce and Hogwild! on real processes.

Every test that starts processes uses gloo on 127.0.0.1 (no network) and tiny models;
starting processes costs seconds each, so those tests carry the ``slow`` marker.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from course_lib import data, distributed, gpu, models, optim  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = [64, 8, 10]


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def _large_batch_sgd(digits, plan, lr, seed):
    """Large-batch SGD on the whole batches with the NumPy MLP: the reference trajectory."""
    net, rule = models.MLP(SIZES, seed=seed), optim.sgd(lr=lr)
    state = {k: rule.init(v) for k, v in net.params.items()}
    path = [distributed.flat_params(net.params)]
    for batch in plan:
        _, grads = net.loss(digits.X_train[batch], digits.y_train[batch])
        for k in net.params:
            net.params[k], state[k] = rule.step(net.params[k], grads[k], state[k])
        path.append(distributed.flat_params(net.params))
    return np.array(path)


def test_free_port_is_a_bindable_local_port():
    port = distributed.free_port()
    assert 1024 <= port < 65536
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_batch_plan_reshuffles_every_epoch_without_replacement():
    plan = distributed.batch_plan(10, 3, 7, seed=4)
    assert plan.shape == (7, 3) and plan.dtype == np.int64
    # 3 batches per epoch (one example dropped): within an epoch no example repeats
    for epoch in (plan[0:3], plan[3:6]):
        assert len(set(epoch.ravel())) == 9
    assert not np.array_equal(plan[0:3], plan[3:6])
    assert np.array_equal(plan, distributed.batch_plan(10, 3, 7, seed=4))
    with pytest.raises(ValueError):
        distributed.batch_plan(10, 11, 2)


def test_numpy_params_match_the_numpy_mlp():
    net = gpu.mlp(SIZES, seed=3, device="cpu", dtype=torch.float64)
    params = distributed.numpy_params(net)
    reference = models.MLP(SIZES, seed=3).params
    assert params.keys() == reference.keys()
    for k in reference:
        np.testing.assert_array_equal(params[k], reference[k])
    flat = distributed.flat_params(params)
    assert flat.shape == (64 * 8 + 8 + 8 * 10 + 10,)
    np.testing.assert_array_equal(flat[:64 * 8], reference["W1"].ravel())


def test_run_rejects_a_bad_process_count():
    with pytest.raises(ValueError):
        distributed.run(distributed.ring_allreduce_worker, 0, (4,))


@pytest.mark.slow
def test_data_parallel_sgd_is_large_batch_sgd(digits):
    """Eq. (eq-ch14-data-parallel) on two gloo processes, in every synchronous mode."""
    plan = distributed.batch_plan(len(digits.y_train), 32, 12, seed=1)
    runs = distributed.run(distributed.data_parallel_runs, 2,
                           (digits.X_train, digits.y_train, SIZES, 0.2, plan, 5))
    reference = _large_batch_sgd(digits, plan, 0.2, seed=5)
    scale = np.abs(reference).max()
    for mode in ("allreduce", "ddp", "ring"):
        for rank in range(2):
            path = np.array([distributed.flat_params(p) for p in runs[rank][mode]])
            assert path.shape == reference.shape
            assert np.abs(path - reference).max() < 1e-10 * scale, (mode, rank)
    local = [distributed.flat_params(runs[rank]["local"][-1]) for rank in range(2)]
    assert np.abs(local[0] - local[1]).max() > 1e-4 * scale     # no all-reduce: two models


def test_data_parallel_sgd_checks_its_arguments(digits):
    plan = distributed.batch_plan(len(digits.y_train), 5, 1)
    with pytest.raises(ValueError, match="multiple"):
        distributed.data_parallel_sgd(0, 2, digits.X_train, digits.y_train, SIZES, 0.1, plan)
    with pytest.raises(ValueError, match="mode"):
        distributed.data_parallel_sgd(0, 1, digits.X_train, digits.y_train, SIZES, 0.1, plan,
                                      mode="gossip")


def test_one_process_local_mode_is_serial_sgd(digits):
    plan = distributed.batch_plan(len(digits.y_train), 16, 5, seed=2)
    path = distributed.data_parallel_sgd(0, 1, digits.X_train, digits.y_train, SIZES, 0.1,
                                         plan, seed=0, mode="local")
    reference = _large_batch_sgd(digits, plan, 0.1, seed=0)
    flat = np.array([distributed.flat_params(p) for p in path])
    assert np.abs(flat - reference).max() < 1e-12 * np.abs(reference).max()


@pytest.mark.slow
@pytest.mark.parametrize("P, k", [(3, 10), (4, 4096)])
def test_ring_allreduce_sums_and_sends_2_p_minus_1_over_p_k(P, k):
    out = distributed.run(distributed.ring_allreduce_worker, P, (k, 7))
    total = sum(np.random.default_rng([7, r]).standard_normal(k) for r in range(P))
    chunk = [len(c) for c in np.array_split(np.arange(k), P)]
    for rank, o in enumerate(out):
        np.testing.assert_allclose(o["ring"], total, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(o["gloo"], total, rtol=1e-12, atol=1e-12)
        # reduce-scatter sends chunks r, r-1, ..., all-gather chunks r+1, r, ... (mod P)
        expected = (sum(chunk[(rank - s) % P] for s in range(P - 1))
                    + sum(chunk[(rank + 1 - s) % P] for s in range(P - 1)))
        assert o["sent"] == expected
    if k % P == 0:
        assert all(o["sent"] == 2 * (P - 1) * k // P for o in out)


@pytest.mark.slow
def test_an_error_in_a_worker_is_raised_in_the_caller():
    with pytest.raises(Exception, match="multiple"):
        distributed.run(distributed.data_parallel_sgd, 2,
                        (np.zeros((10, 64)), np.zeros(10, dtype=np.int64), SIZES, 0.1,
                         np.zeros((1, 3), dtype=np.int64)))


def test_hogwild_worker_alone_is_serial_sgd(digits):
    """One worker, no sharing: plain SGD on the batches its generator draws."""
    net = gpu.mlp(SIZES, seed=1, device="cpu", dtype=torch.float64)
    reference = gpu.mlp(SIZES, seed=1, device="cpu", dtype=torch.float64)
    zeros = torch.zeros((1, 1), dtype=torch.int64)
    out = distributed.hogwild_worker(0, 1, [net], digits.X_train, digits.y_train, 0.1, 20, 8,
                                     [3], zeros, zeros.clone())
    assert out[0]["staleness"].tolist() == [20]          # no other worker: tau = 0 always
    batches = np.random.default_rng([3, 0]).integers(0, len(digits.y_train), size=(20, 8))
    X, y = torch.from_numpy(digits.X_train), torch.from_numpy(digits.y_train)
    opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    for b in batches:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(reference(X[b]), y[b]).backward()
        opt.step()
    for p, q in zip(net.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.slow
def test_hogwild_two_processes_update_one_shared_model(digits):
    nets = [gpu.mlp(SIZES, seed=s, device="cpu", dtype=torch.float64).share_memory()
            for s in (0, 1)]
    before = [distributed.flat_params(distributed.numpy_params(n)) for n in nets]
    progress = torch.zeros((2, 2), dtype=torch.int64).share_memory_()
    ready = torch.zeros((2, 2), dtype=torch.int64).share_memory_()
    out = distributed.run(distributed.hogwild_worker, 2,
                          (nets, digits.X_train, digits.y_train, 0.05, 150, 8, [0, 1],
                           progress, ready), process_group=False)
    assert progress.tolist() == [[150, 150], [150, 150]]   # every update was counted
    for j, net in enumerate(nets):
        after = distributed.flat_params(distributed.numpy_params(net))
        assert np.abs(after - before[j]).max() > 1e-3     # the parent sees the updates
        for rank in range(2):
            assert int(out[rank][j]["staleness"].sum()) == 150
            assert out[rank][j]["seconds"] > 0
        numpy_net = models.MLP(SIZES)
        numpy_net.params.update(distributed.numpy_params(net))
        assert numpy_net.accuracy(digits.X_val, digits.y_val) > 0.5   # it trained


def test_import_without_torch_says_how_to_install():
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; sys.modules['torch'] = None\n"
                           "import course_lib.distributed\n"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:") and "course_lib.distributed" in last
    assert "pip install" in last
