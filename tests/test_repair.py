"""Repair of submitted notebooks (course_lib.grading.repair): matching cells to the release
by metadata, content and position; unreadable files give a reason, never a crash."""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import repair
from course_lib.grading.repair import Unreadable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import grade as grade_tool  # noqa: E402

AID = "a3_adaptive"


@pytest.fixture(scope="module")
def release():
    return nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def answered(release):
    src = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    nb = grade_tool.fill_solutions(release, src)
    for cell in nb.cells:  # written answers too
        if repair.is_answer_cell(cell) and cell.cell_type == "markdown":
            cell.source = f"My answer to {cell.metadata.nbgrader.grade_id}."
    return nb


def write(tmp_path, nb, name="sub.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps(nb))
    return path


def answers(rep):
    return {c.metadata.nbgrader.grade_id: c.source for c in rep.nb.cells if repair.is_answer_cell(c)}


def skeleton(rep):
    return [(c.cell_type, c.metadata.get("nbgrader", {}).get("grade_id"),
             None if repair.is_answer_cell(c) else c.source) for c in rep.nb.cells]


def test_intact_submission_is_unchanged(tmp_path, release, answered):
    rep = repair.repair(write(tmp_path, answered), release)
    assert rep.notes == [] and rep.added == []
    assert answers(rep) == {c.metadata.nbgrader.grade_id: c.source for c in answered.cells
                            if repair.is_answer_cell(c)}
    assert [c.source for c in rep.nb.cells if not repair.is_answer_cell(c)] == \
        [c.source for c in release.cells if not repair.is_answer_cell(c)]


@pytest.mark.parametrize("damage", ["strip_metadata", "reverse", "retype", "strip_and_shuffle"])
def test_damaged_notebooks_repair_to_the_intact_one(tmp_path, release, answered, damage):
    intact = repair.repair(write(tmp_path, answered, "intact.ipynb"), release)
    nb = copy.deepcopy(answered)
    if damage in ("strip_metadata", "strip_and_shuffle"):
        nb.metadata = {}
        for c in nb.cells:
            c.metadata = {}
    if damage == "reverse":
        nb.cells = nb.cells[::-1]
    if damage == "strip_and_shuffle":
        # answers moved to the end, after their tests, questions and answers kept together
        code_answers = [c for c in nb.cells if c.cell_type == "code" and "def " in c.source
                        and "### BEGIN" not in c.source and c.source.lstrip().startswith("def ")]
        nb.cells = [c for c in nb.cells if c not in code_answers] + code_answers
    if damage == "retype":
        for c in nb.cells:
            if repair.is_answer_cell(c) and c.cell_type == "code":
                c.cell_type = "raw"
                c.pop("outputs", None)
                c.pop("execution_count", None)
    rep = repair.repair(write(tmp_path, nb), release)
    got, want = answers(rep), answers(intact)
    code_ids = {c.metadata.nbgrader.grade_id for c in release.cells
                if repair.is_answer_cell(c) and c.cell_type == "code"}
    assert {k: got[k] for k in code_ids} == {k: want[k] for k in code_ids}
    if damage != "strip_and_shuffle":  # written answers are found by position
        assert got == want
    assert skeleton(rep) == skeleton(intact)
    if damage == "retype":
        assert any("submitted as a raw cell; graded as code" in n for n in rep.notes)
    if damage == "strip_metadata":
        assert any("matched by content" in n for n in rep.notes)


def test_duplicates_are_kept_in_order_and_added_cells_stay(tmp_path, release, answered):
    nb = copy.deepcopy(answered)
    k = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def adam_step"))
    wrong = copy.deepcopy(nb.cells[k])
    wrong.source = "def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n    return w, state\n"
    wrong.metadata = {}
    helper = nbformat.v4.new_code_cell("def _helper(x):\n    return 2 * x\n")
    nb.cells[k:k] = [wrong, helper]
    rep = repair.repair(write(tmp_path, nb), release)
    src = answers(rep)["adam_step_solution"]
    assert src.index("return w, state") < src.index("m_hat")  # the later (correct) one wins
    assert any("adam_step_solution: 2 submitted cells" in n for n in rep.notes)
    added = [c for c in rep.nb.cells if c.metadata.get("opt4dl", {}).get("added")]
    assert [c.source for c in added] == [helper.source] and rep.added == [k + 1]


def test_test_cells_restored_and_merged_answers(tmp_path, release, answered):
    nb = copy.deepcopy(answered)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    nb.cells[ids.index("adagrad")].source = "pass  # no test here"
    del nb.cells[ids.index("rmsprop")]
    # adam_init and adam_step written in one cell (the adam_init answer cell)
    k_init = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def adam_init"))
    k_step = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def adam_step"))
    nb.cells[k_init].source += "\n\n" + nb.cells[k_step].source
    del nb.cells[k_step]
    rep = repair.repair(write(tmp_path, nb), release)
    rel_tests = {c.metadata.nbgrader.grade_id: c.source for c in release.cells if repair.is_test_cell(c)}
    got_tests = {c.metadata.nbgrader.grade_id: c.source for c in rep.nb.cells if repair.is_test_cell(c)}
    assert got_tests == rel_tests
    assert "rmsprop: test cell missing from the submission; restored" in rep.notes
    assert answers(rep)["adam_step_solution"] == "# adam_step_solution: answered in another cell of the submission"
    assert "def adam_step" in answers(rep)["adam_init_solution"]


def test_missing_answer_gets_the_stub(tmp_path, release, answered):
    nb = copy.deepcopy(answered)
    nb.cells = [c for c in nb.cells if not c.source.startswith("def rmsprop_step")]
    rep = repair.repair(write(tmp_path, nb), release)
    stub = next(c.source for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "rmsprop_step_solution")
    assert answers(rep)["rmsprop_step_solution"] == stub
    assert "rmsprop_step_solution: no submitted cell answers it; the release stub is graded" in rep.notes


@pytest.mark.parametrize("content,reason", [
    (b"this is not json", "not valid JSON"),
    (b"\xff\xfe\x00binary", "not UTF-8"),
    (b"[1, 2, 3]", "no top-level object"),
    (json.dumps({"nbformat": 2, "cells": []}).encode(), "nbformat 2"),
    (json.dumps({"nbformat": 4, "worksheets": []}).encode(), "no list of cells"),
    (json.dumps({"cells": []}).encode(), "nbformat None"),
])
def test_unreadable_files_raise_with_a_reason(tmp_path, release, content, reason):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(Unreadable, match=reason):
        repair.repair(path, release)


def test_missing_file_is_unreadable(tmp_path, release):
    with pytest.raises(Unreadable, match="cannot be read"):
        repair.repair(tmp_path / "nope.ipynb", release)


def test_lenient_cells(tmp_path, release, answered):
    nb = json.loads(json.dumps(answered))
    for c in nb["cells"]:
        c["source"] = c["source"].splitlines(keepends=True)  # list form, as Jupyter writes it
    nb["cells"].insert(0, "not a cell")
    nb["cells"].insert(1, {"cell_type": "weird", "source": 5})
    path = tmp_path / "lenient.ipynb"
    path.write_text(json.dumps(nb))
    rep = repair.repair(path, release)
    assert answers(rep) == answers(repair.repair(write(tmp_path, answered, "i.ipynb"), release))
