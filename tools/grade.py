"""Instructor pipeline: thin wrapper around the standard nbgrader commands.

Run from anywhere; nbgrader runs in the course root (the folder of nbgrader_config.py)::

    .venv/bin/python tools/grade.py release [ID ...]    # solutions/*.md -> .ipynb -> assignments/
    .venv/bin/python tools/grade.py check-release       # exit 1 if assignments/ is stale
    .venv/bin/python tools/grade.py zip-collect ID      # grading/downloaded/ID/archive/*.zip -> submitted/
    .venv/bin/python tools/grade.py grade ID [-j N]     # autograde + feedback + grading/grades.csv

``grade`` runs, in order::

    nbgrader generate_assignment ID --force   (only if the gradebook lacks ID; fills the db)
    autograde: N workers (-j N, or a Dask cluster: --scheduler ADDRESS) grade every
               grading/submitted/*/ID/ in the sandbox; nbgrader's API, in this process,
               records each result in the gradebook as soon as it is there
    nbgrader generate_feedback ID --force     (grading/feedback/<student>/ID/ID.html)
    nbgrader export --to grading/grades.csv

See INSTRUCTORS.md for the whole workflow.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import build_solutions  # noqa: E402

from course_lib.grading import text  # noqa: E402

# nbgrader's Gradebook runs the `alembic` script of its own environment (found on PATH).
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


def _nbgrader_command(args) -> tuple[list[str], dict]:
    env = dict(os.environ)
    # nbgrader (and any kernel it starts) must import course_lib from this checkout.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return [sys.executable, "-m", "nbgrader", *args], env


def _check(cmd, returncode: int, stdout: str, stderr: str) -> None:
    if returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed (exit {returncode}):\n"
                           f"{stdout[-4000:]}\n{stderr[-4000:]}")


def nbgrader(*args: str, root: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course root ``root`` with this interpreter."""
    cmd, env = _nbgrader_command(args)
    proc = subprocess.run(cmd, cwd=root, env=env, text=True, capture_output=True)
    if check:
        _check(cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc


def _reason(log: str) -> str:
    """The exception that made nbgrader fail, from its log: the last ``SomethingError: ...``
    line other than nbgrader's own summary."""
    found = [m.group(0).strip() for m in re.finditer(r"^\s*[A-Za-z_][\w.]*(?:Error|Exception): .*$", log, re.M)
             if "NbGraderException" not in m.group(0)]
    return text.clean(found[-1] if found else "nbgrader could not record this submission (see its log)", 300)


def autograde(aid: str, root: Path, jobs: int = 1, *, unsafe: bool = False, executor=None) -> dict[str, str]:
    """Grade every submission of ``aid`` (``jobs`` local workers, or ``executor``, e.g. a Dask
    client's) and record each one in nbgrader's gradebook as soon as it is graded.

    nbgrader runs in this process through its own API (``NbGraderAPI.autograde``, one call
    per student, in order), so it stays the gradebook's only writer and its bookkeeping
    (students, late penalties, comments) overlaps with the workers; its ``SandboxedAutograde``
    takes the stored result instead of grading again.  Returns student -> reason for every
    submission nbgrader could not record (the rest of the class is recorded anyway)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from course_lib.grading import nbgrader_adapter, runner

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.SandboxedAutograde.root = str(root)
    if unsafe:
        cfg.SandboxedAutograde.unsafe = True
    config = nbgrader_adapter.grading_config(root, unsafe=unsafe)
    failed: dict[str, str] = {}
    with contextlib.chdir(root):
        api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)

        def record(result) -> None:
            out = api.autograde(aid, result.student, force=True)
            if not out.get("success"):
                failed[result.student] = _reason(f"{out.get('log') or ''}\n{out.get('error') or ''}")

        results = runner.pregrade(root, aid, jobs, executor=executor, config=config, on_result=record)
    print(f"graded {len(results)} submission(s) of {aid}"
          + (" on the Dask cluster" if executor is not None else f" with {jobs} worker(s)"))
    return failed


def release(ids: list[str], root: Path = ROOT) -> None:
    """Build the source notebooks and regenerate ``assignments/<id>/`` for each id."""
    (root / "grading").mkdir(exist_ok=True)
    for aid in ids:
        path = root / "solutions" / aid / f"{aid}.ipynb"
        path.write_text(build_solutions.render(build_solutions.build(aid)))
        nbgrader("generate_assignment", aid, "--force", root=root)
        print(f"released assignments/{aid}/{aid}.ipynb")


def cell_sources(path: Path) -> list[tuple[str, str]]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source) for c in nb.cells]


def stale_releases(ids: list[str]) -> list[str]:
    """Ids whose committed release differs (cell types and sources) from a fresh one, or
    whose solution .ipynb differs from what the builder makes of the .md."""
    import shutil

    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", tmp)
        for aid in ids:
            (tmp / "solutions" / aid).mkdir(parents=True)
            shutil.copy(ROOT / "solutions" / aid / f"{aid}.md", tmp / "solutions" / aid)
            built = build_solutions.render(build_solutions.build(aid))
            src = ROOT / "solutions" / aid / f"{aid}.ipynb"
            if not src.exists() or src.read_text() != built:
                stale.append(f"solutions/{aid}/{aid}.ipynb")
        release(ids, root=tmp)
        for aid in ids:
            committed = ROOT / "assignments" / aid / f"{aid}.ipynb"
            fresh = tmp / "assignments" / aid / f"{aid}.ipynb"
            if not committed.exists() or cell_sources(committed) != cell_sources(fresh):
                stale.append(f"assignments/{aid}/{aid}.ipynb")
    return stale


# ----------------------------------------------------------------------------- simulation
# Used by tests/test_assignments_e2e.py and bench/grading.py to make submissions.


def setup_course(aid: str, root: Path) -> tuple:
    """A fresh course in ``root`` (config + the assignment's .md), released; returns the
    (release, source) notebooks."""
    import shutil

    import nbformat

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "solutions" / aid).mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "solutions" / aid / f"{aid}.md", root / "solutions" / aid)
    release([aid], root=root)
    return (nbformat.read(root / "assignments" / aid / f"{aid}.ipynb", as_version=4),
            nbformat.read(root / "solutions" / aid / f"{aid}.ipynb", as_version=4))


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def fill_solutions(release_nb, source_nb):
    """A copy of the released notebook with every code solution cell answered as in the
    source notebook (solution delimiters removed)."""
    import nbformat

    nb = nbformat.from_dict(release_nb)
    answers = {_grade_id(c): c.source for c in source_nb.cells if _grade_id(c)}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = "\n".join(
                line for line in answers[meta["grade_id"]].split("\n")
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    return nb


def _global_names(obj) -> set:
    """Module-level names a variant function (or every method of a variant class) uses."""
    import inspect

    if inspect.isclass(obj):
        names = set()
        for member in vars(obj).values():
            if inspect.isfunction(member):
                names |= set(inspect.getclosurevars(member).globals)
        return names
    return set(inspect.getclosurevars(obj).globals)


def append_variant(nb, fn_name: str, variant) -> None:
    """Redefine ``fn_name`` as ``variant`` at the end of the solution cell that defines it."""
    import inspect
    import re

    from course_lib.grading import core

    pattern = re.compile(rf"^(?:def|class) {re.escape(fn_name)}\b", re.MULTILINE)
    cells = [c for c in nb.cells if c.cell_type == "code"
             and c.metadata.get("nbgrader", {}).get("solution") and pattern.search(c.source)]
    if len(cells) != 1:
        raise ValueError(f"{fn_name} must be defined in exactly one solution cell, found {len(cells)}")
    # A variant may use np, math, copy, torch and F (INSTRUCTORS.md); import what it uses in
    # case the notebook does not.
    imports = {"np": "import numpy as np", "math": "import math", "copy": "import copy",
               "torch": "import torch", "F": "import torch.nn.functional as F"}
    used = _global_names(variant.fn)
    header = "\n".join(imports[name] for name in sorted(used) if name in imports)
    cells[0].source += "\n\n\n" + header + "\n\n\n" + core.variant_source(variant, fn_name)


def submit(root: Path, aid: str, student: str, nb) -> None:
    import nbformat

    out = root / "grading" / "submitted" / student / aid
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / f"{aid}.ipynb")


def _in_gradebook(aid: str, root: Path) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    db = root / "grading" / "gradebook.db"
    if not db.exists():
        return False
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            return len(gb.find_assignment(aid).notebooks) > 0
        except MissingEntry:
            return False


def name_submissions(aid: str, root: Path = ROOT) -> list[str]:
    """Give every student's notebook the name nbgrader looks for; return per-student warnings.

    nbgrader grades only ``grading/submitted/<student>/<aid>/<aid>.ipynb`` and skips any
    other name with a log line an instructor never sees (Colab's "Save a copy in Drive"
    makes ``Copy of <aid>.ipynb``). One notebook in a student's folder is that student's
    submission whatever its name, and is renamed. None, or several without one named
    ``<aid>.ipynb``, is a warning for that student alone; the rest of the class is graded.
    """
    warnings = []
    for folder in sorted((root / "grading" / "submitted").glob(f"*/{aid}")):
        student, expected = folder.parent.name, folder / f"{aid}.ipynb"
        notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
        if expected in notebooks:
            others = [p.name for p in notebooks if p != expected]
            if others:
                warnings.append(f"{student}: graded {expected.name}; ignored {', '.join(others)}")
        elif len(notebooks) == 1:
            notebooks[0].rename(expected)
            warnings.append(f"{student}: graded {notebooks[0].name!r} as {expected.name}")
        elif notebooks:
            warnings.append(f"{student}: NOT GRADED: {len(notebooks)} notebooks and none named "
                            f"{expected.name} ({', '.join(p.name for p in notebooks)}); keep one")
        else:
            warnings.append(f"{student}: NOT GRADED: no .ipynb in {folder.relative_to(root)}")
    return warnings


def grade(aid: str, root: Path = ROOT, csv: Path | None = None, jobs: int = 1, unsafe: bool = False,
          scheduler: str | None = None) -> Path:
    """Autograde every ``grading/submitted/*/<aid>/``, write feedback and the grades CSV.

    ``jobs``: local worker processes; ``scheduler``: the address of a Dask scheduler whose
    workers grade instead (they need this checkout at the same path).  A submission that
    nbgrader cannot record does not cost the others their feedback and grades: it has no
    autograded score (0 in the CSV) and is listed at the end with the reason."""
    if not _in_gradebook(aid, root):
        release([aid], root=root)
    warnings = name_submissions(aid, root)
    for line in warnings:
        print(f"submission warning: {line}", file=sys.stderr)
    if scheduler:
        from distributed import Client

        with Client(scheduler) as client, client.get_executor() as executor:
            failed = autograde(aid, root, jobs, unsafe=unsafe, executor=executor)
    else:
        failed = autograde(aid, root, jobs, unsafe=unsafe)
    nbgrader("generate_feedback", aid, "--force", root=root)
    csv = csv or root / "grading" / "grades.csv"
    nbgrader("export", "--to", str(csv), root=root)
    print(f"grades: {csv}\nfeedback: {root / 'grading' / 'feedback'}/<student>/{aid}/")
    if warnings:  # again at the end, where the instructor looks
        print(f"{len(warnings)} submission warning(s):", *warnings, sep="\n  ")
    if failed:
        print(f"{len(failed)} submission(s) could not be autograded (score 0 in the CSV; fix or "
              "grade by hand, then run `make grade` again):",
              *(f"{who}: {why}" for who, why in sorted(failed.items())), sep="\n  ")
    return csv


def zip_collect(aid: str, root: Path = ROOT) -> list[tuple[str, str | None]]:
    """``nbgrader zip_collect``: grading/downloaded/<aid>/archive/*.zip -> grading/submitted/.

    Returns (file in the archive, student id or None when skipped) for every notebook, as
    the collector (``course_lib.grading.collect``) reads their names, so that the command
    can say which files it took and which it left. No archive at all is an error.
    """
    import zipfile

    from course_lib.grading.collect import identify

    archive = root / "grading" / "downloaded" / aid / "archive"
    archives = sorted(archive.glob("*.zip")) if archive.is_dir() else []
    if not archives:
        raise SystemExit(f"zip-collect {aid}: no .zip in {archive}: put the archive that "
                         "your LMS's 'download all submissions' gives there first")
    files = []
    for path in archives:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".ipynb") and not name.startswith("__MACOSX/"):
                    found = identify(name, aid)
                    files.append((name, found and found["student_id"]))
    nbgrader("zip_collect", aid, "--force", root=root)
    return files


def assignment_id(text: str) -> str:
    """argparse type: one of the assignments of solutions/, or an error that lists them."""
    ids = build_solutions.assignment_ids()
    if text not in ids:
        raise argparse.ArgumentTypeError(
            f"no assignment {text!r}; the assignments are: {', '.join(ids)}")
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("release", help="regenerate assignments/ from solutions/")
    p.add_argument("ids", nargs="*", type=assignment_id)
    p = sub.add_parser("check-release", help="exit 1 if assignments/ is out of date")
    p.add_argument("ids", nargs="*", type=assignment_id)
    p = sub.add_parser("zip-collect", help="collect an LMS zip into grading/submitted/")
    p.add_argument("id", type=assignment_id)
    p = sub.add_parser("grade", help="autograde, feedback, grades CSV")
    p.add_argument("id", type=assignment_id)
    p.add_argument("-j", "--jobs", type=int, default=1,
                   help="grade with this many worker processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on this Dask scheduler's workers (e.g. tcp://host:8786)")
    p.add_argument("--unsafe", action="store_true",
                   help="grade even where the sandbox cannot run (student code then runs with "
                        "resource limits only, with access to this machine's files)")
    args = ap.parse_args(argv)
    if args.cmd == "release":
        release(args.ids or build_solutions.assignment_ids())
    elif args.cmd == "check-release":
        stale = stale_releases(args.ids or build_solutions.assignment_ids())
        if stale:
            print("out of date (run `make assignments`):", *stale, sep="\n  ")
            return 1
        print("assignments/ is up to date")
    elif args.cmd == "zip-collect":
        files = zip_collect(args.id)
        taken = [(f, who) for f, who in files if who]
        for name, who in taken:
            print(f"collected  {name}  ->  {who}")
        for name, who in files:
            if not who:
                print(f"SKIPPED    {name}  (its name matches no known LMS naming; see "
                      "course_lib/grading/collect.py)")
        print(f"{len(taken)} notebook(s) collected into "
              f"{ROOT / 'grading' / 'submitted'}/<student>/{args.id}/, "
              f"{len(files) - len(taken)} skipped")
    elif args.cmd == "grade":
        if args.jobs < 1:
            ap.error(f"--jobs must be a positive integer, got {args.jobs}")
        # Grading with a stale release would use the old points and checks without a word.
        stale = stale_releases([args.id])
        if stale:
            print(f"The release of {args.id} is out of date with solutions/ or its grading "
                  "module; run `make assignments` (and commit it) before grading:",
                  *stale, sep="\n  ", file=sys.stderr)
            return 2
        from course_lib.grading import sandbox

        problem = sandbox.sandbox_problem()
        if problem and not args.unsafe:
            print(f"Not grading: the sandbox cannot run here. {problem}\n"
                  "Fix that (INSTRUCTORS.md, section 2), or pass --unsafe to run student code "
                  "with resource limits only.", file=sys.stderr)
            return 2
        grade(args.id, jobs=args.jobs, unsafe=args.unsafe, scheduler=args.scheduler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
