"""Time one step of every course_lib.optim rule against the matching torch.optim class.

    python bench/optim_step.py                      # 10 million float32 parameters
    python bench/optim_step.py --size 1000000 --repeats 3

For each rule: the median time of one ``rule.step(w, g, state)`` (NumPy, pure: it allocates
the new parameter and state arrays) and of one ``optimizer.step()`` of the torch class on the
same CPU (``foreach=True``, torch's default number of threads, updating in place), with the
rule's default hyperparameters.

The "floor" is the memory traffic a step cannot avoid: it must read w, g and each state
array and write the new w and state arrays. It is measured as the time of ``np.copyto``
(which reads one array and writes one) scaled to that number of arrays:
floor = t_copyto * (arrays read + arrays written) / 2.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from course_lib import optim

# name -> (torch class, torch keywords matching the rule's defaults,
#          arrays of n parameters a step must read, arrays it must write)
CASES = {
    "sgd": (torch.optim.SGD, dict(lr=1e-3), 2, 1),  # reads w, g; writes w
    "momentum": (torch.optim.SGD, dict(lr=1e-3, momentum=0.9), 3, 2),  # + v
    "nesterov": (torch.optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True), 3, 2),  # + v
    "adagrad": (torch.optim.Adagrad, dict(), 3, 2),  # + G
    "rmsprop": (torch.optim.RMSprop, dict(), 3, 2),  # + v
    "adadelta": (torch.optim.Adadelta, dict(), 4, 3),  # + v, u
    "adam": (torch.optim.Adam, dict(), 4, 3),  # + m, v
    "adamax": (torch.optim.Adamax, dict(), 4, 3),  # + m, u
    "nadam": (torch.optim.NAdam, dict(), 4, 3),  # + m, v
    "amsgrad": (torch.optim.Adam, dict(amsgrad=True), 5, 4),  # + m, v, v_max
    "adamw": (torch.optim.AdamW, dict(), 4, 3),  # + m, v
}


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def time_numpy(name: str, w: np.ndarray, g: np.ndarray, repeats: int) -> float:
    rule = optim.get(name)
    box = list(rule.step(w, g, rule.init(w)))  # one warm-up step: non-zero state

    def one_step():
        box[0], box[1] = rule.step(box[0], g, box[1])

    return median_ms(one_step, repeats)


def time_torch(name: str, w: np.ndarray, g: np.ndarray, repeats: int) -> float:
    cls, kwargs, _, _ = CASES[name]
    p = torch.nn.Parameter(torch.from_numpy(w.copy()))
    p.grad = torch.from_numpy(g.copy())
    opt = cls([p], foreach=True, **kwargs)
    opt.step()  # warm-up: allocates the state
    return median_ms(opt.step, repeats)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="number of float32 parameters")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per rule (median)")
    parser.add_argument("--rules", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeats < 1:
        parser.error("--size and --repeats must be >= 1")

    rng = np.random.default_rng(0)
    w = rng.standard_normal(args.size, dtype=np.float32)
    g = rng.standard_normal(args.size, dtype=np.float32)
    dst = np.empty_like(w)
    copy_ms = median_ms(lambda: np.copyto(dst, w), max(args.repeats, 5))

    print(
        f"{args.size:,} float32 parameters, median of {args.repeats} steps; numpy "
        f"{np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{platform.processor() or platform.machine()}"
    )
    print(f"np.copyto of one array: {copy_ms:.2f} ms  (floor = copyto x (reads + writes) / 2)")
    header = (
        f"{'rule':<10}{'R+W':>5}{'numpy ms':>10}{'torch ms':>10}{'np/torch':>10}"
        f"{'floor ms':>10}{'np/floor':>10}{'torch/floor':>12}"
    )
    print(header)
    print("-" * len(header))
    for name in args.rules:
        _, _, reads, writes = CASES[name]
        floor = copy_ms * (reads + writes) / 2
        t_np = time_numpy(name, w, g, args.repeats)
        t_torch = time_torch(name, w, g, args.repeats)
        print(
            f"{name:<10}{reads + writes:>5}{t_np:>10.2f}{t_torch:>10.2f}{t_np / t_torch:>10.2f}"
            f"{floor:>10.2f}{t_np / floor:>10.2f}{t_torch / floor:>12.2f}"
        )


if __name__ == "__main__":
    main()
