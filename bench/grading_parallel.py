"""`make grade A=<id> J=<n>` for n = 1 and 2 workers, against the nbclient floor (a fresh
kernel executing the same notebook: what in-kernel grading must at least pay).

    .venv/bin/python bench/grading_parallel.py                 # 40 submissions of a3
    .venv/bin/python bench/grading_parallel.py -n 10 -j 1 2 4 --assignment a2_momentum

Each run grades a fresh copy of the same course.  `make grade J=n`: n workers (1 = this
process) grade and store the results, and nbgrader's autograde, driven in this process
through its API, records each one as it arrives (the gradebook keeps one writer).  Feedback
and export follow.  "workers alone" times the workers' grading without nbgrader (runner.pregrade;
1 worker = in this process): the part that more workers can speed up.
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


def make_grade_timed(aid: str, root: Path, jobs: int) -> tuple[dict, dict]:
    """`make grade A=aid J=jobs` (tools/grade.py grade), timed; returns (seconds, scores)."""
    import csv

    t0 = time.perf_counter()
    failed = pipeline.autograde(aid, root, jobs)  # workers grade, nbgrader records as they come
    assert not failed, failed
    t1 = time.perf_counter()
    csv_path = root / "grading" / "grades.csv"
    pipeline.nbgrader("generate_feedback", aid, "--force", root=root)
    pipeline.nbgrader("export", "--to", str(csv_path), root=root)
    t2 = time.perf_counter()
    with open(csv_path) as f:
        scores = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(f)}
    return {"autograde": t1 - t0, "feedback_export": t2 - t1}, scores


def workers_timed(aid: str, root: Path, jobs: int) -> float:
    """The workers' grading alone (runner.pregrade; 1 = in this process)."""
    from course_lib.grading import nbgrader_adapter, runner

    t0 = time.perf_counter()
    runner.pregrade(root, aid, jobs, config=nbgrader_adapter.grading_config(root))
    return time.perf_counter() - t0


def main(argv=None) -> int:
    import shutil

    from course_lib.grading import sandbox

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assignment", default="a3_adaptive")
    ap.add_argument("-n", type=int, default=40, help="number of submissions")
    ap.add_argument("-j", type=int, nargs="+", default=[1, 2], help="worker counts")
    ap.add_argument("--floor-runs", type=int, default=5)
    args = ap.parse_args(argv)
    aid, n = args.assignment, args.n
    print(f"sandbox: {sandbox.sandbox_problem() or 'bubblewrap, allow-list file system'}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "course"
        reference = make_submissions(aid, n, base)
        (base / "grading" / "grading_seed").write_text("20240601\n")
        grade, grading, scores = {}, {}, {}
        for jobs in args.j:
            root = Path(tmp) / f"make{jobs}"
            shutil.copytree(base, root)
            grade[jobs], scores[jobs] = make_grade_timed(aid, root, jobs)
            root = Path(tmp) / f"workers{jobs}"
            shutil.copytree(base, root)
            grading[jobs] = workers_timed(aid, root, jobs)
        floor = nbclient_seconds(reference, args.floor_runs, Path(tmp))
    one = args.j[0]
    print(f"\n{aid}: {n} submissions (reference, stub, variants); cores: {os.cpu_count()}")
    print(f"{'J':>3} {'make grade: autograde s':>24} {'s/submission':>13} {'speed-up':>9} "
          f"{'feedback+export s':>18} {'workers alone s':>16} {'speed-up':>9}")
    for jobs in args.j:
        t = grade[jobs]
        print(f"{jobs:>3} {t['autograde']:>24.1f} {t['autograde'] / n:>13.2f} "
              f"{grade[one]['autograde'] / t['autograde']:>9.2f} {t['feedback_export']:>18.1f} "
              f"{grading[jobs]:>16.1f} {grading[one] / grading[jobs]:>9.2f}")
    print(f"nbclient floor (fresh kernel + the notebook's cells): {floor:.2f} s per submission")
    same = all(s == scores[one] for s in scores.values())
    print(f"scores identical across worker counts: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
