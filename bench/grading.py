"""Autograding time per submission, per assignment, against the floor of executing the same
notebook directly with nbclient (what any grader must at least pay: a fresh kernel plus the
notebook's own cells).

    .venv/bin/python bench/grading.py                  # every assignment in solutions/
    .venv/bin/python bench/grading.py a3_adaptive -n 6

For each assignment it builds a tmp course, submits ``n`` copies of the reference solution,
times one ``nbgrader autograde`` over all of them (its start-up, ~5-10 s of imports, is
reported separately by timing an autograde of a single submission), and times nbclient
executing the filled notebook ``n`` times.  Prints a table; nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_solutions  # noqa: E402
import grade as pipeline  # noqa: E402


def nbclient_seconds(nb, n: int, cwd: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    t0 = time.perf_counter()
    for _ in range(n):
        NotebookClient(nbformat.from_dict(nb), timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(cwd)}}).execute()
    return (time.perf_counter() - t0) / n


def autograde_seconds(aid: str, root: Path) -> float:
    """One `nbgrader autograde` over every submission present."""
    t0 = time.perf_counter()
    pipeline.nbgrader("autograde", aid, "--force", root=root)
    return time.perf_counter() - t0


def bench(aid: str, n: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        release, source = pipeline.setup_course(aid, root)
        nb = pipeline.fill_solutions(release, source)
        pipeline.submit(root, aid, "warmup", nb)
        startup_plus_one = autograde_seconds(aid, root)
        for k in range(n):
            pipeline.submit(root, aid, f"s{k}", nb)
        total = autograde_seconds(aid, root)  # grades warmup again plus the n copies
        per_submission = (total - startup_plus_one) / n
        floor = nbclient_seconds(nb, n, root)
        return per_submission, floor, startup_plus_one - per_submission


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*")
    ap.add_argument("-n", type=int, default=4, help="submissions per assignment")
    args = ap.parse_args(argv)
    ids = args.ids or build_solutions.assignment_ids()
    rows = []
    for aid in ids:
        rows.append((aid, *bench(aid, args.n)))
        print(f"  {aid}: done", file=sys.stderr)
    print(f"\n{'assignment':<22}{'autograde s/sub':>17}{'nbclient floor s':>18}{'overhead':>10}"
          f"{'startup s':>11}")
    for aid, per, floor, startup in rows:
        print(f"{aid:<22}{per:>17.2f}{floor:>18.2f}{per / floor:>9.1f}x{startup:>11.1f}")
    print("\nautograde s/sub excludes nbgrader's one-off start-up (last column); target < 15 s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
