"""Build the nbgrader source notebooks ``solutions/<id>/<id>.ipynb`` from ``<id>.md``.

The solutions are authored as MyST notebooks with a short ``nbgrader`` cell option
(``solution``, ``tests``, ``manual``, ``locked``); this script expands it into nbgrader's cell
metadata (schema_version 3), writes the body of every test cell from the assignment's grading
module (``course_lib.grading.<id>``: ``CHECKS`` gives the points, ``FUNCTIONS`` the function
each check is called with) and prepends an Open-in-Colab cell and the Colab set-up cell.  See
INSTRUCTORS.md (section 4) for the format.  Usage::

    .venv/bin/python tools/build_solutions.py               # every solutions/*/<id>.md
    .venv/bin/python tools/build_solutions.py a1_gradient_descent
    .venv/bin/python tools/build_solutions.py --check       # exit 1 if an .ipynb is stale
"""
from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repository  # noqa: E402  (tools/ is not a package)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"

# The repository and the release come from _config.yml and course_lib (tools/repository.py).
COLAB_CELL = f'''import sys, subprocess
if "google.colab" in sys.modules:  # on Colab: install the course's library first
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "{repository.install_spec()}"],
                   check=True)'''

COLAB_URL = repository.colab_url("assignments/{aid}/{aid}.ipynb")

# Students mostly work in Colab: how to open the notebook there and how to hand it in.
BADGE_CELL = """[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})

**In Colab:** run the first code cell (it installs the course's library), then
*File > Save a copy in Drive* so that your work is kept. To hand in, *File > Download >
Download .ipynb* and submit that file. In a local Jupyter, install the library once with
`pip install -e .` in the course repository."""

KINDS = ("solution", "tests", "manual", "locked")


def assignment_ids() -> list[str]:
    """Every ``solutions/<id>/`` that has an authored ``<id>.md``, sorted."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.md") if p.stem == p.parent.name)


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def test_cell_source(aid: str, check_id: str, fn_name: str) -> str:
    return (f"from course_lib.grading import {aid} as grader\n"
            f"grader.check_{check_id}({fn_name})\n"
            "### BEGIN HIDDEN TESTS\n"
            f"grader.check_{check_id}_hidden({fn_name})\n"
            "### END HIDDEN TESTS")


def build(aid: str) -> nbformat.NotebookNode:
    """Return the nbgrader source notebook for assignment ``aid``."""
    md = SOLUTIONS / aid / f"{aid}.md"
    grader = importlib.import_module(f"course_lib.grading.{aid}")
    nb = jupytext.read(md)
    badge = nbformat.v4.new_markdown_cell(BADGE_CELL.format(url=COLAB_URL.format(aid=aid)), metadata={
        "editable": False, "deletable": False,
        "nbgrader": _meta("colab_badge", grade=False, solution=False, locked=True)})
    cells = [badge, nbformat.v4.new_code_cell(COLAB_CELL, metadata={
        "editable": False, "deletable": False,
        "nbgrader": _meta("colab_setup", grade=False, solution=False, locked=True)})]
    seen_tests: dict[str, int] = {}
    ids: set[str] = set()
    for i, cell in enumerate(nb.cells):
        meta = dict(cell.metadata)
        kind = meta.pop("nbgrader", None)
        grade_id = meta.pop("grade_id", None)
        points = meta.pop("points", None)
        where = f"{md.name}, cell {i + 1}"
        if kind is not None and kind not in KINDS:
            raise ValueError(f"{where}: nbgrader option must be one of {KINDS}, got {kind!r}")
        if points is not None and kind != "manual":
            # One source of truth: a test cell's points are CHECKS in the grading module.
            raise ValueError(
                f"{where}: :points: is only for 'manual' answer cells; the points of test "
                f"cells come from CHECKS in course_lib/grading/{aid}.py")
        source = cell.source
        if kind == "solution":
            if cell.cell_type != "code":
                raise ValueError(f"{where}: 'solution' is for code cells; use 'manual' for answers")
            if "### BEGIN SOLUTION" not in source:
                raise ValueError(f"{where}: a solution cell needs ### BEGIN/END SOLUTION")
            if grade_id is None:
                m = re.search(r"^def\s+(\w+)", source, re.MULTILINE)
                if m is None:
                    raise ValueError(f"{where}: solution cell defines no function; give :grade_id:")
                grade_id = f"{m.group(1)}_solution"
            meta["nbgrader"] = _meta(grade_id, grade=False, solution=True, locked=False)
        elif kind == "tests":
            if grade_id not in grader.CHECKS:
                raise ValueError(f"{where}: test grade_id {grade_id!r} is not a check id of "
                                 f"course_lib.grading.{aid} (one of {sorted(grader.CHECKS)})")
            if source.strip():
                raise ValueError(f"{where}: leave test cells empty; the builder writes them")
            seen_tests[grade_id] = seen_tests.get(grade_id, 0) + 1
            source = test_cell_source(aid, grade_id, grader.FUNCTIONS[grade_id])
            meta["nbgrader"] = _meta(grade_id, grade=True, solution=False, locked=True,
                                     points=grader.CHECKS[grade_id])
            meta["editable"] = False
            meta["deletable"] = False
        elif kind == "manual":
            if cell.cell_type != "markdown" or grade_id is None or not points:
                raise ValueError(f"{where}: a 'manual' cell is a markdown answer cell with "
                                 "grade_id and points")
            meta["nbgrader"] = _meta(grade_id, grade=True, solution=True, locked=False,
                                     points=points)
        elif kind == "locked":
            grade_id = grade_id or f"locked_{i + 1}"
            meta["nbgrader"] = _meta(grade_id, grade=False, solution=False, locked=True)
            meta["editable"] = False
            meta["deletable"] = False
        if kind is not None:
            if grade_id in ids:
                raise ValueError(f"{where}: duplicate grade_id {grade_id!r}")
            ids.add(grade_id)
        new = (nbformat.v4.new_code_cell(source, metadata=meta) if cell.cell_type == "code"
               else nbformat.v4.new_markdown_cell(source, metadata=meta))
        cells.append(new)
    missing = sorted(set(grader.CHECKS) - set(seen_tests))
    doubled = sorted(k for k, n in seen_tests.items() if n > 1)
    if missing or doubled:
        raise ValueError(f"{md.name}: every check needs exactly one test cell; missing "
                         f"{missing}, more than one {doubled}")
    out = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    # Stable cell ids keep the generated files byte-identical between builds.
    for k, cell in enumerate(out.cells):
        cell["id"] = f"{aid[:2]}-{k:03d}"
    nbformat.validate(out)
    return out


def render(nb) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*", help="assignment ids (default: all in solutions/)")
    ap.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    ids = args.ids or assignment_ids()
    stale = []
    for aid in ids:
        text = render(build(aid))
        path = SOLUTIONS / aid / f"{aid}.ipynb"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("stale (run tools/build_solutions.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
