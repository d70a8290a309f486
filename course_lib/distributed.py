r"""Parallel and distributed SGD on a real engine: ``torch.distributed`` and ``torch.multiprocessing``.

Chapter 14 runs these on the CPU with a few local processes (backend gloo, loopback only).
What lives here, and why in a module: a process started with the ``spawn`` method imports
the function it runs by name, so a worker function must live in an importable module,
never in a notebook.

- :func:`free_port` and :func:`run`: start ``nprocs`` worker processes (``spawn``), each in
  a gloo process group on ``127.0.0.1``, call ``fn(rank, world_size, *args)`` in each and
  return the ``nprocs`` return values, ordered by rank.
- :func:`batch_plan`: the global mini-batches, identical in every process (a fresh
  permutation of the ``n`` examples every epoch, cut into batches of ``B``).
- :func:`data_parallel_sgd`: synchronous data-parallel SGD. At step :math:`t` worker
  :math:`i` of :math:`P` computes the mean gradient :math:`g_t^i` of its shard
  :math:`\mathcal{B}_t^i` (:math:`B/P` examples of the global batch
  :math:`\mathcal{B}_t`), an all-reduce sums the :math:`P` gradients, and every replica
  takes the same step

  .. math:: w_t = w_{t-1} - \eta\,\frac{1}{P}\sum_{i=1}^{P} g_t^i
            = w_{t-1} - \eta\,\frac{1}{B}\sum_{j \in \mathcal{B}_t} \nabla\ell_j(w_{t-1}),

  the step of large-batch SGD with batch :math:`B` (the shards have equal sizes). Modes:
  ``"allreduce"`` (explicit ``all_reduce`` of every gradient), ``"ddp"``
  (``torch.nn.parallel.DistributedDataParallel``), ``"ring"`` (:func:`ring_allreduce_`)
  and ``"local"`` (no communication: every replica runs SGD on its own shards only, a
  control that shows what the all-reduce is for).
- :func:`ring_allreduce_`: the ring all-reduce written with point-to-point messages: a
  reduce-scatter and an all-gather of :math:`P - 1` steps each, in which every worker
  sends one of :math:`P` chunks of the :math:`k`-vector to its right neighbour, so that
  every worker sends (and receives) :math:`2\,\frac{P-1}{P}\,k` elements in all.
- :func:`hogwild_worker`: Hogwild! (Niu et al. 2011): workers that update one shared model
  (``share_memory()``) with SGD steps, without any lock, and record the staleness
  :math:`\tau` of every update (how many updates of the other workers landed between its
  read of the parameters and its write).

Every function here needs PyTorch (CPU build is enough).
"""

from __future__ import annotations

import datetime
import os
import pickle
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from ._requires import require_torch

require_torch("course_lib.distributed")

import torch  # noqa: E402  (after the check: a clear error first)
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402

__all__ = [
    "free_port",
    "run",
    "batch_plan",
    "numpy_params",
    "flat_params",
    "data_parallel_sgd",
    "data_parallel_runs",
    "ring_allreduce_",
    "ring_allreduce_worker",
    "hogwild_worker",
]

MODES = ("allreduce", "ddp", "ring", "local")


# --------------------------------------------------------------------------- launching
def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the system picks it: bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank, fn, world_size, port, process_group, folder, args):
    """What every spawned process runs: join the group, call ``fn``, store its result."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    # gloo picks its network interface from the host name; on loopback only, name it.
    if "GLOO_SOCKET_IFNAME" not in os.environ and Path("/sys/class/net/lo").exists():
        os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)  # P processes on a few cores: one thread each
    if process_group:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world_size,
                                timeout=datetime.timedelta(seconds=120))
    try:
        result = fn(rank, world_size, *args)
    finally:
        if process_group:
            dist.destroy_process_group()
    with open(Path(folder) / f"{rank}.pkl", "wb") as f:
        pickle.dump(result, f)


def run(fn, nprocs, args=(), process_group=True):
    """Run ``fn(rank, nprocs, *args)`` in ``nprocs`` new processes; their return values.

    The processes are started with ``torch.multiprocessing.start_processes(...,
    start_method="spawn")``, so ``fn`` must be importable (a module-level function of a
    module, not of a notebook). With ``process_group=True`` each process first joins a gloo
    process group of ``nprocs`` ranks on ``127.0.0.1`` at a free port
    (``MASTER_ADDR=127.0.0.1``), so ``fn`` can call ``torch.distributed``. Each process
    uses one intra-op thread. Tensors in shared memory (``share_memory()``) passed in
    ``args`` are shared with the processes, not copied. An exception in any process is
    raised here (``torch.multiprocessing.ProcessRaisedException``).
    """
    if not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"nprocs must be a positive int, got {nprocs!r}")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="course_lib_dist_") as folder:
        torch.multiprocessing.start_processes(
            _entry, args=(fn, nprocs, port, process_group, folder, tuple(args)),
            nprocs=nprocs, join=True, start_method="spawn")
        results = []
        for rank in range(nprocs):
            with open(Path(folder) / f"{rank}.pkl", "rb") as f:
                results.append(pickle.load(f))
    return results


# --------------------------------------------------------------------------- helpers
def batch_plan(n, batch_size, steps, seed=0):
    r"""The global mini-batches :math:`\mathcal{B}_1, \dots, \mathcal{B}_T`, shape (steps, B).

    Each epoch is a fresh permutation of the ``n`` examples (``np.random.default_rng(seed)``)
    cut into :math:`\lfloor n/B \rfloor` batches of ``batch_size`` (the rest is dropped):
    sampling without replacement within an epoch, reshuffled every epoch.
    """
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, n = {n}], got {batch_size}")
    rng = np.random.default_rng(seed)
    per_epoch = n // batch_size
    rows = []
    while len(rows) < steps:
        perm = rng.permutation(n)
        rows.extend(perm[: per_epoch * batch_size].reshape(per_epoch, batch_size))
    return np.array(rows[:steps], dtype=np.int64)


def numpy_params(model):
    """The parameters of a ``Linear``/``ReLU`` network as ``course_lib.models.MLP`` names them.

    ``{"W1": ..., "b1": ..., "W2": ...}``: float64 NumPy copies, ``W_l`` in the
    ``(fan_in, fan_out)`` layout of the NumPy MLP (torch stores its transpose).
    """
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    out = {}
    for l, lin in enumerate(linears, start=1):
        out[f"W{l}"] = lin.weight.detach().cpu().double().numpy().T.copy()
        out[f"b{l}"] = lin.bias.detach().cpu().double().numpy().copy()
    return out


def flat_params(params):
    """One float64 vector of the arrays of a ``numpy_params`` dict (W1, b1, W2, ...)."""
    names = sorted(params, key=lambda k: (int(k[1:]), k[0] != "W"))
    return np.concatenate([np.ravel(params[k]) for k in names])


# --------------------------------------------------------------------------- all-reduce
def ring_allreduce_(x):
    r"""Sum ``x`` over all ranks of the default process group, in place, by a ring.

    The :math:`k` entries of ``x`` are cut into :math:`P` chunks :math:`c_0, \dots,
    c_{P-1}` (sizes differ by at most one). Worker :math:`r` sends to :math:`r + 1` and
    receives from :math:`r - 1` (mod :math:`P`).

    - Reduce-scatter, steps :math:`s = 0, \dots, P-2`: send chunk :math:`(r - s) \bmod P`,
      receive chunk :math:`(r - s - 1) \bmod P` and add it to the local one. Afterwards
      worker :math:`r` holds the complete sum of chunk :math:`(r + 1) \bmod P`.
    - All-gather, steps :math:`s = 0, \dots, P-2`: send chunk :math:`(r + 1 - s) \bmod P`
      (complete), receive chunk :math:`(r - s) \bmod P` and overwrite the local one.

    Returns the number of elements this worker sent, :math:`2(P-1)k/P` when :math:`P`
    divides :math:`k`. ``x`` must be a contiguous tensor; with one process nothing is sent.
    """
    if not x.is_contiguous():
        raise ValueError("ring_allreduce_ needs a contiguous tensor")
    P, r = dist.get_world_size(), dist.get_rank()
    if P == 1:
        return 0
    chunks = list(x.view(-1).tensor_split(P))
    right, left = (r + 1) % P, (r - 1) % P
    sent = 0

    def exchange(send_index, recv_index):
        nonlocal sent
        buf = torch.empty_like(chunks[recv_index])
        request = dist.isend(chunks[send_index], right)
        dist.recv(buf, left)
        request.wait()
        sent += chunks[send_index].numel()
        return buf

    for s in range(P - 1):                       # reduce-scatter
        recv_index = (r - s - 1) % P
        chunks[recv_index] += exchange((r - s) % P, recv_index)
    for s in range(P - 1):                       # all-gather
        recv_index = (r - s) % P
        chunks[recv_index].copy_(exchange((r + 1 - s) % P, recv_index))
    return sent


def ring_allreduce_worker(rank, world_size, k, seed=0):
    """One rank's part of the ring check: a random k-vector summed by the ring and by gloo.

    The vector of rank ``r`` is ``np.random.default_rng([seed, r]).standard_normal(k)``
    (float64). Returns ``dict(ring=..., gloo=..., sent=...)``: the ring's sum, the sum of
    ``torch.distributed.all_reduce`` and the number of elements this rank sent in the ring.
    """
    x = torch.from_numpy(np.random.default_rng([seed, rank]).standard_normal(k))
    ring = x.clone()
    sent = ring_allreduce_(ring)
    reference = x.clone()
    dist.all_reduce(reference)
    return dict(ring=ring.numpy(), gloo=reference.numpy(), sent=sent)


# --------------------------------------------------------------------------- data parallel
def data_parallel_sgd(rank, world_size, X, y, sizes, lr, plan, seed=0, mode="allreduce"):
    r"""Synchronous data-parallel SGD, run by every rank; returns its parameter trajectory.

    The network is ``course_lib.gpu.mlp(sizes, seed)`` in float64 (the same initial
    weights in every process). At step :math:`t` this rank takes its shard of the global
    batch ``plan[t - 1]`` (entries ``rank * b`` to ``(rank + 1) * b - 1``, with
    :math:`b = B/P`), computes the mean softmax cross-entropy gradient :math:`g_t^i` on it
    and, except in mode ``"local"``, replaces it by the average :math:`\frac1P\sum_i g_t^i`
    (an all-reduce, then a division by :math:`P`) before the SGD step
    :math:`w_t = w_{t-1} - \eta\,\bar g_t`.

    Returns ``[numpy_params(model)]`` after 0, 1, ..., T steps (T = ``len(plan)``).
    """
    from .gpu import mlp  # imported here: only the workers need it

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    plan = np.asarray(plan)
    if plan.shape[1] % world_size:
        raise ValueError(f"the batch size {plan.shape[1]} is not a multiple of {world_size}")
    b = plan.shape[1] // world_size
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y = torch.as_tensor(np.asarray(y, dtype=np.int64))
    model = mlp(sizes, seed=seed, device="cpu", dtype=torch.float64)
    if mode == "ddp":
        model = torch.nn.parallel.DistributedDataParallel(model)
    params = list(model.parameters())
    history = [numpy_params(model)]
    for batch in plan:
        shard = torch.from_numpy(batch[rank * b:(rank + 1) * b])
        for p in params:
            p.grad = None
        F.cross_entropy(model(X[shard]), y[shard]).backward()   # DDP averages here
        if mode in ("allreduce", "ring"):
            for p in params:
                if mode == "allreduce":
                    dist.all_reduce(p.grad)                   # sum over the P workers
                else:
                    ring_allreduce_(p.grad)
                p.grad /= world_size
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        history.append(numpy_params(model))
    return history


def data_parallel_runs(rank, world_size, X, y, sizes, lr, plan, seed=0, modes=MODES):
    """:func:`data_parallel_sgd` once per mode in ``modes``, in one process group.

    Returns ``{mode: trajectory}``. Starting processes costs seconds; their runs, for a
    small network, milliseconds, so one launch runs every mode.
    """
    return {mode: data_parallel_sgd(rank, world_size, X, y, sizes, lr, plan, seed, mode)
            for mode in modes}


# --------------------------------------------------------------------------- Hogwild!
def hogwild_worker(rank, world_size, models, X, y, lr, steps, batch_size, seeds,
                   progress, ready):
    r"""Lock-free SGD on shared models (Hogwild!): one worker's part, for several runs.

    ``models[j]`` (``j``-th run) is a network whose parameters are in shared memory
    (``model.share_memory()``); all ``world_size`` workers update it in place, without a
    lock: every step reads the current parameters, computes the mean cross-entropy gradient
    :math:`g` on ``batch_size`` examples drawn (with replacement) by
    ``np.random.default_rng([seeds[j], rank])`` and writes
    :math:`w \leftarrow w - \eta g`, tensor by tensor, while the others do the same.

    ``progress`` (int64, shape ``(len(models), world_size)``, shared) counts the updates of
    each worker; the staleness of an update is the number of updates of *other* workers
    that were written between this worker's read and its write. ``ready`` (same shape,
    shared, zeros) lets the workers start every run together. With ``world_size = 1`` and
    plain tensors this is serial SGD. Returns, for every run, ``dict(staleness=counts,
    seconds=...)`` with ``counts[tau]`` the number of updates of staleness ``tau`` and the
    time the worker spent in its loop.
    """
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y = torch.as_tensor(np.asarray(y, dtype=np.int64))
    n = len(y)
    out = []
    for j, model in enumerate(models):
        params = list(model.parameters())
        rng = np.random.default_rng([seeds[j], rank])
        batches = torch.from_numpy(rng.integers(0, n, size=(steps, batch_size)))
        ready[j, rank] = 1
        while int(ready[j].sum()) < world_size:      # start together
            time.sleep(1e-4)
        stale = np.zeros(steps, dtype=np.int64)
        start = time.perf_counter()
        for t in range(steps):
            others = int(progress[j].sum() - progress[j, rank])    # before the read
            loss = F.cross_entropy(model(X[batches[t]]), y[batches[t]])
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.add_(g, alpha=-lr)                           # no lock
            progress[j, rank] += 1
            stale[t] = int(progress[j].sum() - progress[j, rank]) - others
        out.append(dict(staleness=np.bincount(stale), seconds=time.perf_counter() - start))
    return out
