"""What each denial-of-service submission costs the grader now, against a correct one.

    .venv/bin/python bench/attacks.py              # the attacks of tests/adversarial/
    .venv/bin/python bench/attacks.py --limit 2    # call limit (s); cells get twice that

Each attack is a crafted submission of ``tests/adversarial/`` (a loop, a hang, a fork bomb,
thousands of IPython lines, a memory bomb, a full /tmp, signals to every pid, a flood of
output, a forged protocol frame) graded by the trusted runner under the given limits; a
correct submission is graded in the same run as the baseline.  The table gives each
attack's seconds, its ratio to the baseline, and the bound the limits put on it (the
submission's time budget plus one call past it).  Nothing is asserted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

ATTACKS = ["infinite_loop", "hang_cell", "ignore_sigint", "fork_bomb", "many_magics", "memory_bomb",
           "fill_tmp", "kill_the_grader", "huge_output", "forge_protocol", "os_exit"]


def main(argv=None) -> int:
    import shutil

    import test_adversarial as adv  # the harness that builds crafted submissions

    from course_lib.grading import runner, sandbox

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=2.0, help="call_timeout in seconds (cells: twice)")
    ap.add_argument("--budget", type=float, default=60.0, help="submission_timeout in seconds")
    args = ap.parse_args(argv)
    print(f"sandbox: {sandbox.sandbox_problem() or 'bubblewrap, allow-list file system'}")
    limits = runner.limited(call_timeout=args.limit, cell_timeout=2 * args.limit)
    bound = args.budget + limits.wall_factor * limits.cell_timeout
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(ROOT / "assignments", course / "assignments")
        shutil.copytree(ROOT / "solutions", course / "solutions")
        (course / "grading").mkdir()
        config = runner.GradingConfig(root=str(course), seed=1, limits=limits, submission_timeout=args.budget)

        def seconds(name: str) -> tuple[float, float]:
            case = adv.CASES / f"{name}.py"
            head = adv.parse(case)
            out = Path(tmp) / name / head["assignment"] / f"{head['assignment']}.ipynb"
            out.parent.mkdir(parents=True, exist_ok=True)
            adv.build(case, head, course, out)
            t0 = time.perf_counter()
            result = runner.grade_submission(out, head["assignment"], config)
            return time.perf_counter() - t0, result.score

        base, _ = seconds("stripped_metadata")  # a correct a3 submission (metadata lost)
        print(f"limits: call {limits.call_timeout:g} s, cell {limits.cell_timeout:g} s, "
              f"submission {args.budget:g} s; bound per submission {bound:g} s")
        print(f"{'submission':22s} {'seconds':>8s} {'x correct':>10s} {'score':>6s}")
        print(f"{'correct (baseline)':22s} {base:8.1f} {1.0:10.2f}")
        for name in ATTACKS:
            s, score = seconds(name)
            print(f"{name:22s} {s:8.1f} {s / base:10.2f} {score:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
