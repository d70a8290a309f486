"""Sandboxed grading (course_lib.grading.runner) with 1 and 2 workers, against the nbclient
floor (a fresh kernel executing the same notebook, what in-kernel grading must at least pay).

    .venv/bin/python bench/grading_parallel.py                 # 40 submissions of a3
    .venv/bin/python bench/grading_parallel.py -n 10 -j 1 2 4 --assignment a2_momentum

The submissions are a mix: the reference solution, the stub, and one submission per
catalogued variant (cycled), so that failing checks (and their variant naming) are timed
too.  Prints a table and the scores' agreement between worker counts; nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import grade as pipeline  # noqa: E402


def make_submissions(aid: str, n: int, out: Path) -> list[tuple[str, Path]]:
    import importlib

    import nbformat

    module = importlib.import_module(f"course_lib.grading.{aid}")
    release = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    source = nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    reference = pipeline.fill_solutions(release, source)
    variants = [(fn, v) for fn, vs in module.VARIANTS.items() for v in vs]
    items = []
    for k in range(n):
        if k % 4 == 0:
            nb = reference
        elif k % 4 == 1:
            nb = release
        else:
            nb = pipeline.fill_solutions(release, source)
            fn, v = variants[k % len(variants)]
            pipeline.append_variant(nb, fn, v)
        path = out / f"s{k:03d}" / aid / f"{aid}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        items.append((f"s{k:03d}", path))
    return items, reference


def nbclient_seconds(nb, n: int, cwd: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    t0 = time.perf_counter()
    for _ in range(n):
        NotebookClient(nbformat.from_dict(nb), timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(cwd)}}).execute()
    return (time.perf_counter() - t0) / n


def main(argv=None) -> int:
    from course_lib.grading import runner, sandbox

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assignment", default="a3_adaptive")
    ap.add_argument("-n", type=int, default=40, help="number of submissions")
    ap.add_argument("-j", type=int, nargs="+", default=[1, 2], help="worker counts")
    ap.add_argument("--floor-runs", type=int, default=5)
    args = ap.parse_args(argv)
    aid = args.assignment
    print(f"bwrap: {'yes' if sandbox.bwrap_available() else 'NO (weaker sandbox)'}")
    config = runner.GradingConfig(seed=runner.DEFAULT_TEST_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        items, reference = make_submissions(aid, args.n, Path(tmp))
        rows, scores = [], {}
        for jobs in args.j:
            t0 = time.perf_counter()
            results = runner.grade_many(items, aid, config, jobs=jobs)
            wall = time.perf_counter() - t0
            scores[jobs] = [r.scores() for r in results]
            rows.append((jobs, wall, wall / len(items), sum(r.seconds for r in results) / len(items)))
        floor = nbclient_seconds(reference, args.floor_runs, Path(tmp))
    base = rows[0][1]
    print(f"\n{aid}: {args.n} submissions (reference, stub, variants)")
    print(f"{'workers':>8} {'wall s':>8} {'s/submission':>13} {'speed-up':>9} {'s/sub (in worker)':>18}")
    for jobs, wall, per, inside in rows:
        print(f"{jobs:>8} {wall:>8.1f} {per:>13.2f} {base / wall:>9.2f} {inside:>18.2f}")
    print(f"nbclient floor (fresh kernel + the notebook's cells): {floor:.2f} s per submission")
    same = all(s == scores[args.j[0]] for s in scores.values())
    print(f"scores identical across worker counts: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
