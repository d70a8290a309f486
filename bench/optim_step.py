"""Time one step of every course_lib.optim rule against the matching torch.optim class.

    python bench/optim_step.py                      # 10 million float32 parameters
    python bench/optim_step.py --size 1000000 --repeats 3

For each rule: the median time of one ``rule.step(w, g, state)`` (NumPy, pure: it allocates
the new parameter and state arrays) and of one ``optimizer.step()`` of the torch class on the
same CPU (``foreach=True``, torch's default number of threads, updating in place), with the
rule's default hyperparameters (the torch class and keywords of
``course_lib.torch_optim.TORCH_TWINS``).

course_lib.optim updates arrays of 4 MiB or more in 256 KiB blocks (``optim._base``), on the
theory that the temporaries of a rule's dozen operations then stay in the CPU cache. The
"whole" column times the same step with blocking switched off, in the same repeats, so the
"blocks/whole" ratio says whether the block path earns its place on this machine.

The "floor" is the memory traffic a step cannot avoid: it must read w, g and each state
array and write the new w and state arrays. It is measured as the time of ``np.copyto``
(which reads one array and writes one) scaled to that number of arrays:
floor = t_copyto * (arrays read + arrays written) / 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

from course_lib import optim, torch_optim
from course_lib.optim import _base as optim_base


def _traffic(name: str) -> tuple[int, int]:
    """(arrays of n parameters a step must read, arrays it must write): w, g and every state
    array are read; the new w and the new state arrays are written."""
    state = optim.get(name).init(np.zeros(1))
    buffers = sum(isinstance(value, np.ndarray) for value in state)
    return 2 + buffers, 1 + buffers


def _whole_array_step(rule, w, g, state):
    """One step with the block path switched off (every array updated in one piece)."""
    saved = optim_base._BLOCKED_FROM
    optim_base._BLOCKED_FROM = float("inf")
    try:
        return rule.step(w, g, state)
    finally:
        optim_base._BLOCKED_FROM = saved


def measure(name: str, w: np.ndarray, g: np.ndarray, repeats: int):
    """Median ms of one NumPy step (blocked, whole-array), one torch step and one np.copyto.

    The three are timed in turn within each repeat, so that a change in the machine's load
    during the run affects all three alike."""
    rule = optim.get(name)
    numpy_run = list(rule.step(w, g, rule.init(w)))  # warm-up step: non-zero state

    cls, kwargs = torch_optim.TORCH_TWINS[name]
    p = torch.nn.Parameter(torch.from_numpy(w.copy()))
    p.grad = torch.from_numpy(g.copy())
    opt = cls([p], foreach=True, **kwargs)
    opt.step()  # warm-up: allocates the state

    dst = np.empty_like(w)
    times = {"numpy": [], "whole": [], "torch": [], "copy": []}
    whole_run = list(numpy_run)
    for _ in range(repeats):
        start = time.perf_counter()
        numpy_run[0], numpy_run[1] = rule.step(numpy_run[0], g, numpy_run[1])
        times["numpy"].append(time.perf_counter() - start)
        start = time.perf_counter()
        whole_run[0], whole_run[1] = _whole_array_step(rule, whole_run[0], g, whole_run[1])
        times["whole"].append(time.perf_counter() - start)
        start = time.perf_counter()
        opt.step()
        times["torch"].append(time.perf_counter() - start)
        start = time.perf_counter()
        np.copyto(dst, w)
        times["copy"].append(time.perf_counter() - start)
    return tuple(1e3 * statistics.median(times[k]) for k in ("numpy", "whole", "torch", "copy"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="number of float32 parameters")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per rule (median)")
    parser.add_argument("--rules", nargs="*", default=list(optim.RULES), choices=list(optim.RULES))
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeats < 1:
        parser.error("--size and --repeats must be >= 1")

    rng = np.random.default_rng(0)
    w = rng.standard_normal(args.size, dtype=np.float32)
    g = rng.standard_normal(args.size, dtype=np.float32)

    print(
        f"{args.size:,} float32 parameters, median of {args.repeats} steps; numpy "
        f"{np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print("floor = time of np.copyto of one array x (arrays read + arrays written) / 2")
    header = (
        f"{'rule':<10}{'R+W':>5}{'numpy ms':>10}{'whole ms':>10}{'blocks/whole':>13}"
        f"{'torch ms':>10}{'np/torch':>10}{'floor ms':>10}{'np/floor':>10}{'torch/floor':>12}"
    )
    print(header)
    print("-" * len(header))
    for name in args.rules:
        reads, writes = _traffic(name)
        t_np, t_whole, t_torch, t_copy = measure(name, w, g, args.repeats)
        floor = t_copy * (reads + writes) / 2
        print(
            f"{name:<10}{reads + writes:>5}{t_np:>10.2f}{t_whole:>10.2f}{t_np / t_whole:>13.2f}"
            f"{t_torch:>10.2f}{t_np / t_torch:>10.2f}{floor:>10.2f}{t_np / floor:>10.2f}"
            f"{t_torch / floor:>12.2f}"
        )


if __name__ == "__main__":
    main()
