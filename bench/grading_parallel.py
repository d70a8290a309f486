"""`make grade A=<id> J=<n>` for n = 1 and 2 workers, against the nbclient floor (a fresh
kernel executing the same notebook: what in-kernel grading must at least pay).

    .venv/bin/python bench/grading_parallel.py                 # 40 submissions of a3
    .venv/bin/python bench/grading_parallel.py -n 10 -j 1 2 4 --assignment a2_momentum

Each run grades a fresh copy of the same course: `make grade J=1` (nbgrader autograde grades
every submission itself), then for each worker count n the workers grade and store the
results (runner.pregrade; n = 1 in this process) and `nbgrader autograde` records them.
The grading phase's speed-up is the one workers can give; the recording is nbgrader's own
serial bookkeeping (the gradebook has one writer).  Feedback and export follow in all.
The submissions are a mix: the reference solution, the stub, and one submission per
catalogued variant (cycled), so that failing checks (and their variant naming) are timed
too.  Prints a table and the scores' agreement between worker counts; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import grade as pipeline  # noqa: E402


def make_submissions(aid: str, n: int, root: Path):
    """A released course in ``root`` with ``n`` submissions; returns the reference notebook."""
    import importlib

    import nbformat

    module = importlib.import_module(f"course_lib.grading.{aid}")
    release, source = pipeline.setup_course(aid, root)
    reference = pipeline.fill_solutions(release, source)
    variants = [(fn, v) for fn, vs in module.VARIANTS.items() for v in vs]
    for k in range(n):
        if k % 4 == 0:
            nb = reference
        elif k % 4 == 1:
            nb = nbformat.from_dict(release)
        else:
            nb = pipeline.fill_solutions(release, source)
            fn, v = variants[k % len(variants)]
            pipeline.append_variant(nb, fn, v)
        pipeline.submit(root, aid, f"s{k:03d}", nb)
    return reference


def nbclient_seconds(nb, n: int, cwd: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    t0 = time.perf_counter()
    for _ in range(n):
        NotebookClient(nbformat.from_dict(nb), timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    return (time.perf_counter() - t0) / n


def grade_timed(aid: str, root: Path, jobs: int | None) -> tuple[dict, dict]:
    """tools/grade.py grade's steps, timed; returns (seconds per step, scores).
    ``jobs=None``: `make grade J=1` (nbgrader autograde grades every submission itself);
    otherwise ``jobs`` workers grade first (1: in this process) and nbgrader records."""
    import csv

    from course_lib.grading import nbgrader_sandbox, runner

    t0 = time.perf_counter()
    if jobs is not None:
        runner.pregrade(root, aid, jobs, config=nbgrader_sandbox.grading_config(root))
    t1 = time.perf_counter()
    pipeline.nbgrader("autograde", aid, "--force", root=root)
    t2 = time.perf_counter()
    pipeline.nbgrader("generate_feedback", aid, "--force", root=root)
    pipeline.nbgrader("export", "--to", str(root / "grades.csv"), root=root)
    t3 = time.perf_counter()
    times = dict(workers=t1 - t0, autograde=t2 - t1, grade=t2 - t0, feedback_export=t3 - t2)
    with open(root / "grades.csv") as f:
        scores = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(f)}
    return times, scores


def main(argv=None) -> int:
    import shutil

    from course_lib.grading import sandbox

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assignment", default="a3_adaptive")
    ap.add_argument("-n", type=int, default=40, help="number of submissions")
    ap.add_argument("-j", type=int, nargs="+", default=[1, 2], help="worker counts")
    ap.add_argument("--floor-runs", type=int, default=5)
    args = ap.parse_args(argv)
    aid = args.assignment
    print(f"bwrap: {'yes' if sandbox.bwrap_available() else 'NO (weaker sandbox)'}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "course"
        reference = make_submissions(aid, args.n, base)
        rows, scores = [], {}
        for jobs in [None] + args.j:
            root = Path(tmp) / f"j{jobs}"
            shutil.copytree(base, root)
            (root / "grading" / "grading_seed").write_text("20240601\n")
            times, scores[jobs] = grade_timed(aid, root, jobs)
            rows.append((jobs, times))
        floor = nbclient_seconds(reference, args.floor_runs, Path(tmp))
    n = args.n
    serial = dict(rows)[args.j[0]]
    print(f"\n{aid}: {n} submissions (reference, stub, variants); cores: {os.cpu_count()}")
    print("grading = the workers' phase; recording = nbgrader autograde taking the stored results")
    print(f"{'':>24} {'grading s':>10} {'speed-up':>9} {'recording s':>12} {'total s':>8} "
          f"{'s/submission':>13} {'feedback+export s':>18}")
    for jobs, t in rows:
        label = "make grade J=1" if jobs is None else f"{jobs} worker(s)"
        speed = "" if jobs is None else f"{serial['workers'] / t['workers']:.2f}"
        grading = t["autograde"] if jobs is None else t["workers"]
        recording = "(in nbgrader)" if jobs is None else f"{t['autograde']:.1f}"
        print(f"{label:>24} {grading:>10.1f} {speed:>9} {recording:>12} {t['grade']:>8.1f} "
              f"{t['grade'] / n:>13.2f} {t['feedback_export']:>18.1f}")
    print(f"nbclient floor (fresh kernel + the notebook's cells): {floor:.2f} s per submission")
    same = all(s == scores[None] for s in scores.values())
    print(f"scores identical across all runs: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
