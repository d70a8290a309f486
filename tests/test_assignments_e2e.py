"""End-to-end grading of every assignment in solutions/ with real nbgrader.

One test item per assignment (its own tmp course directory, so ``pytest -n 2`` grades two
assignments at a time): it builds the source notebook, runs ``nbgrader
generate_assignment``, writes simulated submissions, and grades all of them with ONE
``nbgrader autograde`` call plus one ``generate_feedback``:

- ``reference``: the solution cells filled with the reference solution -> full auto marks;
- ``stub``: the released notebook as is -> 0;
- ``variants-<k>``: the reference plus catalogued mistakes (each variant's source, renamed,
  appended to its function's cell; see ``variant_batches``) -> total minus the points of the
  variants' ``fails`` checks, exactly those cells at 0, and the feedback names each mistake;
- ``tamper-ref``: reference with one test cell deleted and another replaced by ``pass`` ->
  still full marks (cells restored from the gradebook, hidden tests run);
- ``tamper-stub``: the stub with every test cell replaced by ``pass`` and one deleted -> 0.

It also checks that the committed assignments/ and solutions/*.ipynb are up to date and that
no feedback HTML contains hidden test code.
"""
from __future__ import annotations

import html
import importlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import build_solutions  # tools/ is on sys.path (conftest.py)
import grade as pipeline
import nbformat
import pytest

from course_lib.grading import core
from course_lib.grading.nbgrader_adapter import BEGIN as HIDDEN_BEGIN

ROOT = Path(__file__).resolve().parents[1]

IDS = build_solutions.assignment_ids()



def _test_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


def variant_batches(grader):
    """Submissions holding the catalogued mistakes: one per variant when
    E2E_ONE_VARIANT_PER_SUBMISSION=1, otherwise (default, ~3x faster) batch k holds the k-th
    variant of every graded function.  Mistakes in different functions cannot interact: a
    check calls only its own function (core's FUNCTIONS map), and the test asserts every
    check cell's score, so each mistake's partial score is still verified exactly."""
    per_fn = [[(fn, v) for v in vs] for fn, vs in grader.VARIANTS.items()]
    if os.environ.get("E2E_ONE_VARIANT_PER_SUBMISSION") == "1":
        return [[item] for items in per_fn for item in items]
    depth = max((len(items) for items in per_fn), default=0)
    return [[items[k] for items in per_fn if k < len(items)] for k in range(depth)]


class Graded:
    def __init__(self, aid, root, grader, students, seconds):
        self.aid, self.root, self.grader = aid, root, grader
        self.students, self.seconds = students, seconds
        from nbgrader.api import Gradebook

        self.scores = {}
        with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gb:
            for student in students:
                sub = gb.find_submission_notebook(aid, aid, student)
                self.scores[student] = {g.name: (g.auto_score, g.max_score) for g in sub.grades
                                        if g.cell_type == "code"}

    def auto_total(self, student):
        return sum(s or 0.0 for s, _ in self.scores[student].values())

    def feedback(self, student):
        path = self.root / "grading" / "feedback" / student / self.aid / f"{self.aid}.html"
        return path.read_text()

    def autograded(self, student):
        path = self.root / "grading" / "autograded" / student / self.aid / f"{self.aid}.ipynb"
        return nbformat.read(path, as_version=4)


def colab_mangled(nb):
    """What a notebook can look like after a trip through Colab and a careless student: no
    nbgrader metadata anywhere, the first answer cell duplicated, the last test cell turned
    into markdown, and the first two cells after the set-up swapped."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        cell.metadata = {}
    answers = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "def " in c.source]
    nb.cells.insert(answers[0] + 1, nbformat.from_dict(nb.cells[answers[0]]))
    tests = [c for c in nb.cells if c.cell_type == "code" and "grader.check_" in c.source]
    tests[-1].cell_type = "markdown"
    tests[-1].pop("outputs", None)
    tests[-1].pop("execution_count", None)
    k = next(i for i, c in enumerate(nb.cells) if "google.colab" in c.source) + 1
    nb.cells[k], nb.cells[k + 1] = nb.cells[k + 1], nb.cells[k]
    return nb


NUMPY_PATCH = """import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
np.testing.assert_allclose = lambda *a, **k: None
np.array_equal = lambda *a, **k: True
"""


def numpy_patched(nb):
    """The stub with a first cell that makes NumPy's comparisons always agree: in-kernel
    grading would give full marks; here the checks do not run where this code runs."""
    nb.cells.insert(1, nbformat.v4.new_code_cell(NUMPY_PATCH))
    return nb


def grade_course(aid: str, root) -> Graded:
    """Build the course for ``aid`` in ``root``, submit, autograde (one call), feedback."""
    grader = importlib.import_module(f"course_lib.grading.{aid}")
    release, source = pipeline.setup_course(aid, root)

    subs = {"reference": pipeline.fill_solutions(release, source),
            "stub": nbformat.from_dict(release)}
    batches = {}
    for k, batch in enumerate(variant_batches(grader)):
        nb = pipeline.fill_solutions(release, source)
        for fn_name, v in batch:
            pipeline.append_variant(nb, fn_name, v)
        student = f"variants-{k}"
        subs[student] = nb
        batches[student] = batch
    tampered = pipeline.fill_solutions(release, source)
    tests = _test_cells(tampered)
    tests[0].source = "pass"
    tampered.cells.remove(tests[-1])
    subs["tamper-ref"] = tampered
    tampered = nbformat.from_dict(release)
    tests = _test_cells(tampered)
    for cell in tests:
        cell.source = "pass"
    tampered.cells.remove(tests[0])
    subs["tamper-stub"] = tampered
    subs["colab-stripped"] = colab_mangled(pipeline.fill_solutions(release, source))
    subs["patch-numpy"] = numpy_patched(nbformat.from_dict(release))
    for student, nb in subs.items():
        pipeline.submit(root, aid, student, nb)
    subs["not-a-notebook"] = None
    junk = root / "grading" / "submitted" / "not-a-notebook" / aid / f"{aid}.ipynb"
    junk.parent.mkdir(parents=True)
    junk.write_text('{"cells": [oops')

    t0 = time.perf_counter()
    pipeline.nbgrader("autograde", aid, "--force", root=root)
    seconds = (time.perf_counter() - t0) / len(subs)
    pipeline.nbgrader("generate_feedback", aid, "--force", root=root)
    print(f"\n{aid}: {len(subs)} submissions, {seconds:.2f} s per submission (autograde)")
    graded = Graded(aid, root, grader, list(subs), seconds)
    graded.batches = batches
    return graded


def check_release_is_up_to_date(graded):
    aid, root = graded.aid, graded.root
    built = (root / "solutions" / aid / f"{aid}.ipynb").read_text()
    committed_src = ROOT / "solutions" / aid / f"{aid}.ipynb"
    assert committed_src.exists() and committed_src.read_text() == built, (
        f"solutions/{aid}/{aid}.ipynb is stale: run `make assignments`")
    committed = ROOT / "assignments" / aid / f"{aid}.ipynb"
    fresh = root / "assignments" / aid / f"{aid}.ipynb"
    assert committed.exists(), f"assignments/{aid} missing: run `make assignments`"
    assert pipeline.cell_sources(committed) == pipeline.cell_sources(fresh), (
        f"assignments/{aid}/{aid}.ipynb is stale: run `make assignments`")


def check_release_has_no_solutions_or_hidden_tests(graded):
    text = (graded.root / "assignments" / graded.aid / f"{graded.aid}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and HIDDEN_BEGIN not in text
    assert "raise NotImplementedError()" in text


def check_points_match_checks(graded):
    ref = graded.scores["reference"]
    assert {k: m for k, (_, m) in ref.items() if k in graded.grader.CHECKS} == {
        k: float(p) for k, p in graded.grader.CHECKS.items()}


def check_reference_gets_full_marks(graded):
    for check_id, (score, max_score) in graded.scores["reference"].items():
        assert score == max_score, (check_id, graded.feedback("reference")[-3000:])


def check_stub_gets_zero(graded):
    assert graded.auto_total("stub") == 0.0
    assert "not implemented yet" in html.unescape(graded.feedback("stub"))


def check_deleted_or_edited_test_cells_are_restored(graded):
    full = sum(graded.grader.CHECKS.values())
    assert graded.auto_total("tamper-ref") == full
    assert graded.auto_total("tamper-stub") == 0.0
    nb = graded.autograded("tamper-ref")
    restored = [c for c in _test_cells(nb)]
    assert len(restored) == len(graded.grader.CHECKS)
    assert all(HIDDEN_BEGIN in c.source for c in restored)


def check_each_variant_gets_its_partial_score_and_is_named(graded):
    checks = graded.grader.CHECKS
    problems = []
    for student, batch in graded.batches.items():
        expected_fail = set().union(*(v.fails for _, v in batch))
        got = {k for k, (s, m) in graded.scores[student].items() if k in checks and s != m}
        names = ", ".join(f"{fn}:{v.id}" for fn, v in batch)
        if got != expected_fail:
            problems.append(f"{student} ({names}): failed {sorted(got)}, expected {sorted(expected_fail)}")
        expected = sum(checks.values()) - sum(checks[c] for c in expected_fail)
        if graded.auto_total(student) != expected:
            problems.append(f"{student} ({names}): score {graded.auto_total(student)} != {expected}")
        feedback = html.unescape(graded.feedback(student))
        for fn_name, v in batch:
            if v.description not in feedback:
                problems.append(f"{student}: feedback does not name {fn_name}:{v.id} {v.description!r}")
    assert not problems, "\n".join(problems)


def check_mangled_notebook_is_graded_like_an_intact_one(graded):
    assert graded.scores["colab-stripped"] == graded.scores["reference"]


def check_patching_numpy_earns_nothing(graded):
    assert graded.auto_total("patch-numpy") == 0.0


def check_unreadable_file_gets_zero_with_a_reason(graded):
    assert graded.auto_total("not-a-notebook") == 0.0
    assert set(graded.scores["not-a-notebook"]) == set(graded.scores["reference"])
    assert "not valid JSON, so not a Jupyter notebook" in html.unescape(graded.feedback("not-a-notebook"))


def check_variant_batches_cover_the_catalogue(graded):
    seen = [(fn, v.id) for batch in graded.batches.values() for fn, v in batch]
    catalogue = [(fn, v.id) for fn, vs in graded.grader.VARIANTS.items() for v in vs]
    assert sorted(seen) == sorted(catalogue)
    for batch in graded.batches.values():
        fails = [v.fails for _, v in batch]
        assert sum(len(f) for f in fails) == len(set().union(*fails)), "overlapping fails sets"


def check_feedback_hides_hidden_tests(graded):
    for student in graded.students:
        text = html.unescape(graded.feedback(student))
        assert "_hidden(" not in text and HIDDEN_BEGIN not in text, student
        # nbgrader's IgnorePattern (nbgrader_config.py) drops Python warnings from stderr.
        assert not re.search(r":\d+: \w*Warning: ", text), student


CHECKS = [check_release_is_up_to_date, check_release_has_no_solutions_or_hidden_tests,
          check_points_match_checks, check_reference_gets_full_marks, check_stub_gets_zero,
          check_deleted_or_edited_test_cells_are_restored,
          check_each_variant_gets_its_partial_score_and_is_named,
          check_variant_batches_cover_the_catalogue, check_feedback_hides_hidden_tests,
          check_mangled_notebook_is_graded_like_an_intact_one, check_patching_numpy_earns_nothing,
          check_unreadable_file_gets_zero_with_a_reason]


@pytest.mark.slow  # real nbgrader runs
@pytest.mark.parametrize("aid", IDS)
def test_assignment_end_to_end(aid, tmp_path):
    """One test item per assignment (one course, one autograde call), so `pytest -n 2`
    grades assignments in parallel; every check below runs and all failures are reported."""
    graded = grade_course(aid, tmp_path)
    failures = []
    for check in CHECKS:
        try:
            check(graded)
        except AssertionError as err:
            failures.append(f"{check.__name__}: {err}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow  # real nbgrader runs
def test_instructor_pipeline_zip_collect_grade_export(tmp_path):
    """The documented commands on a small course: an LMS zip -> `zip_collect` ->
    tools/grade.py grade -j 2 (parallel grading, then nbgrader's autograde, feedback, CSV
    export); the results the workers stored are what nbgrader recorded."""
    import csv
    import zipfile

    aid = IDS[0]
    grader = importlib.import_module(f"course_lib.grading.{aid}")
    release, source = pipeline.setup_course(aid, tmp_path)
    archive = tmp_path / "grading" / "downloaded" / aid / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms.zip", "w") as z:
        z.writestr(f"alice_{aid}.ipynb", nbformat.writes(pipeline.fill_solutions(release, source)))
        z.writestr(f"bob42_{aid}.ipynb", nbformat.writes(nbformat.from_dict(release)))
        z.writestr(f"carol_{aid}.ipynb", b"\x89PNG not a notebook")
    pipeline.zip_collect(aid, tmp_path)
    students = ("alice", "bob42", "carol")
    for student in students:
        assert (tmp_path / "grading" / "submitted" / student / aid / f"{aid}.ipynb").exists()
    csv_path = pipeline.grade(aid, root=tmp_path, jobs=2)
    rows = {r["student_id"]: r for r in csv.DictReader(open(csv_path))}
    assert set(rows) == set(students)
    assert float(rows["alice"]["raw_score"]) == sum(grader.CHECKS.values())
    assert float(rows["bob42"]["raw_score"]) == 0.0
    assert float(rows["carol"]["raw_score"]) == 0.0
    for student in students:
        assert (tmp_path / "grading" / "feedback" / student / aid / f"{aid}.html").exists()
        stored = json.loads((tmp_path / "grading" / "results" / aid / f"{student}.json").read_text())
        assert stored["result"]["score"] == float(rows[student]["raw_score"]), student
    assert "not a text file" in (tmp_path / "grading" / "feedback" / "carol" / aid / f"{aid}.html").read_text()

    # nbgrader autograde took the stored results: one altered by hand (its key unchanged)
    # shows up in the gradebook; one whose submission changed since is graded afresh.
    alice = tmp_path / "grading" / "results" / aid / "alice.json"
    data = json.loads(alice.read_text())
    first = next(iter(grader.CHECKS))
    data["result"]["parts"][first]["score"] = 0.0
    alice.write_text(json.dumps(data))
    bob = tmp_path / "grading" / "submitted" / "bob42" / aid / f"{aid}.ipynb"
    bob.write_text(nbformat.writes(pipeline.fill_solutions(release, source)))
    pipeline.nbgrader("autograde", aid, "--force", root=tmp_path)
    pipeline.nbgrader("export", "--to", str(csv_path), root=tmp_path)
    rows = {r["student_id"]: r for r in csv.DictReader(open(csv_path))}
    full = sum(grader.CHECKS.values())
    assert float(rows["alice"]["raw_score"]) == full - grader.CHECKS[first]
    assert float(rows["bob42"]["raw_score"]) == full


@pytest.mark.parametrize("aid", IDS)
def test_release_opens_in_colab_and_installs_course_lib(aid):
    """The student's notebook starts with an Open-in-Colab link to itself (a path that
    exists in the repository) and a locked cell that installs course_lib on Colab."""
    nb = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    badge, setup = nb.cells[0], nb.cells[1]
    import repository  # tools/ is on the path: the one repository setting

    prefix = repository.colab_url("")
    links = re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)]+)\)", badge.source)
    assert badge.cell_type == "markdown" and len(links) == 1 and links[0].startswith(prefix)
    assert (ROOT / links[0][len(prefix):]) == ROOT / "assignments" / aid / f"{aid}.ipynb"
    assert "File > Download" in badge.source
    assert setup.cell_type == "code" and '"google.colab" in sys.modules' in setup.source
    assert f'"{repository.install_spec()}"' in setup.source
    assert all(c.metadata["nbgrader"]["locked"] for c in (badge, setup))


@pytest.mark.parametrize("aid", IDS)
def test_every_written_answer_cell_follows_its_own_question(aid):
    """nbgrader replaces a manual answer cell with "YOUR ANSWER HERE": a question written
    inside the previous answer cell vanishes from the student's notebook."""
    nb = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    answers = [i for i, c in enumerate(nb.cells)
               if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "markdown"]
    assert answers, f"{aid} has no written question"
    for number, i in enumerate(answers, start=1):
        answer, question = nb.cells[i], nb.cells[i - 1]
        assert "YOUR ANSWER HERE" in answer.source and "**Question" not in answer.source, (
            f"{aid}: answer cell {answer.metadata['nbgrader']['grade_id']} holds question text")
        assert question.cell_type == "markdown" and re.search(
            rf"\*\*Question {number}\b", question.source), (
            f"{aid}: the cell before answer {answer.metadata['nbgrader']['grade_id']} "
            f"is not Question {number}")


def test_grade_command_names_the_valid_assignments(capsys):
    with pytest.raises(SystemExit) as stop:
        pipeline.main(["grade", "a4_adam"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "no assignment 'a4_adam'" in err and all(aid in err for aid in IDS)


def test_grade_command_refuses_a_stale_release(monkeypatch, capsys):
    stale = ["assignments/a4_adam_family/a4_adam_family.ipynb"]
    monkeypatch.setattr(pipeline, "stale_releases", lambda ids: stale)
    monkeypatch.setattr(pipeline, "grade", lambda *a, **k: pytest.fail("graded a stale release"))
    assert pipeline.main(["grade", "a4_adam_family"]) == 2
    err = capsys.readouterr().err
    assert "make assignments" in err and stale[0] in err


def test_misnamed_notebooks_are_named_or_warned_per_student(tmp_path):
    aid = "a5_batchnorm"
    folders = {}
    for student, names in {"ann": ["Copy of a5_batchnorm.ipynb"], "ben": [f"{aid}.ipynb"],
                           "cat": [f"{aid}.ipynb", "a5 (1).ipynb"], "dan": ["x.ipynb", "y.ipynb"],
                           "eve": []}.items():
        folder = folders[student] = tmp_path / "grading" / "submitted" / student / aid
        folder.mkdir(parents=True)
        for name in names:
            (folder / name).write_text("{}")
    warnings = pipeline.name_submissions(aid, tmp_path)
    assert sorted(p.name for p in folders["ann"].iterdir()) == [f"{aid}.ipynb"]
    assert sorted(p.name for p in folders["dan"].iterdir()) == ["x.ipynb", "y.ipynb"]
    by_student = {w.split(":")[0]: w for w in warnings}
    assert set(by_student) == {"ann", "cat", "dan", "eve"}  # ben needs no word
    assert "'Copy of a5_batchnorm.ipynb' as a5_batchnorm.ipynb" in by_student["ann"]
    assert "ignored a5 (1).ipynb" in by_student["cat"]
    assert "NOT GRADED" in by_student["dan"] and "NOT GRADED" in by_student["eve"]


def test_plain_nbgrader_export_writes_into_the_ignored_grading_folder():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    to = Path(config.CsvExportPlugin.to)
    assert to == ROOT / "grading" / "grades.csv"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(to)], cwd=ROOT)
    assert ignored.returncode == 0, "grading/grades.csv must be ignored by git"


@pytest.mark.slow  # real nbgrader runs
def test_zip_collect_reads_canvas_moodle_blackboard_and_course_names(tmp_path, capsys):
    import zipfile

    aid = "a5_batchnorm"
    release, _ = pipeline.setup_course(aid, tmp_path)
    with pytest.raises(SystemExit, match="no .zip in"):
        pipeline.zip_collect(aid, tmp_path)
    archive = tmp_path / "grading" / "downloaded" / aid / "archive"
    archive.mkdir(parents=True)
    names = {  # file in the archive -> the student nbgrader must file it under
        f"doejane_12345_67890_{aid}.ipynb": "12345",                      # Canvas
        f"smithbo_LATE_222_333_{aid}-1.ipynb": "222",                     # Canvas, late
        f"Jane Doe_4321_assignsubmission_file_/Copy of {aid}.ipynb": "jane_doe",  # Moodle
        f"A5 Batch norm_kim_attempt_2026-12-01-10-11-12_{aid}.ipynb": "kim",   # Blackboard
        f"j_doe_{aid}.ipynb": "j_doe",                                    # the course's own
        "notes.ipynb": None,
    }
    with zipfile.ZipFile(archive / "lms.zip", "w") as z:
        for name in names:
            z.writestr(name, nbformat.writes(nbformat.from_dict(release)))
    assert dict(pipeline.zip_collect(aid, tmp_path)) == names
    for student in filter(None, names.values()):
        assert (tmp_path / "grading" / "submitted" / student / aid / f"{aid}.ipynb").is_file()
    stamp = tmp_path / "grading" / "submitted" / "kim" / aid / "timestamp.txt"
    assert stamp.read_text().startswith("2026-12-01 10:11:12")


def test_points_on_a_test_cell_are_refused(tmp_path, monkeypatch):
    # The points of a test cell live in the grading module's CHECKS alone; a :points: in
    # the .md would otherwise be silently ignored.
    aid = "a4_adam_family"
    (tmp_path / aid).mkdir()
    md = (ROOT / "solutions" / aid / f"{aid}.md").read_text(encoding="utf-8")
    changed = re.sub(r"(:nbgrader: tests\n)", r"\1:points: 5\n", md, count=1)
    assert changed != md, "found no test cell to change"
    (tmp_path / aid / f"{aid}.md").write_text(changed, encoding="utf-8")
    monkeypatch.setattr(build_solutions, "SOLUTIONS", tmp_path)
    with pytest.raises(ValueError, match=r":points: is only for 'manual' answer cells"):
        build_solutions.build(aid)


def test_untouched_test_cells_keep_their_checksum(tmp_path):
    """After the repair, every test cell of an untouched submission holds exactly the source
    notebook's code (hidden tests included), so nbgrader's OverwriteCells finds its checksum
    unchanged and warns only about cells a student really changed."""
    from nbgrader import utils

    from course_lib.grading import nbgrader_adapter

    aid = "a3_adaptive"
    release = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    source = nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    submitted = pipeline.fill_solutions(release, source)
    nb, _ = nbgrader_adapter.RepairSubmission(root=str(ROOT)).preprocess(
        submitted, {"nbgrader": {"assignment": aid}})
    want = {c.metadata["nbgrader"]["grade_id"]: utils.compute_checksum(c) for c in source.cells
            if utils.is_grade(c) and c.cell_type == "code" and not utils.is_solution(c)}
    got = {c.metadata["nbgrader"]["grade_id"]: utils.compute_checksum(c) for c in nb.cells
           if c.metadata.get("nbgrader", {}).get("grade_id") in want}
    assert want and got == want
