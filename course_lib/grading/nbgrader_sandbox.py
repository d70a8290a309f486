"""``nbgrader autograde`` with sandboxed, tamper-proof checks.

Registered in nbgrader_config.py in place of nbgrader's ``Execute`` preprocessor::

    c.Autograde.autograde_preprocessors = [
        "course_lib.grading.nbgrader_sandbox.SandboxedAutograde",  # instead of Execute
        "nbgrader.preprocessors.IgnorePattern", ...]

Instead of running the submission in a Jupyter kernel (where the student's code shares the
grader's privileges and can rewrite test cells, monkeypatch the checks or write the
gradebook), it grades the notebook with :func:`course_lib.grading.runner.grade_cells`:
repair, the student's code in a :mod:`sandbox`, the checks in this process.  It then
replaces the notebook by the repaired one whose test cells carry the verdicts as outputs (an
error output with the check's message for a failed part), which nbgrader's ``SaveAutoGrades``
turns into scores as usual; feedback, formgrader and export are unchanged.
"""
from __future__ import annotations

import json
import os

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Float, Unicode

from . import repair, runner


class RepairSubmission(Preprocessor):
    """First of the *sanitize* preprocessors: rebuild the submission on the release's
    skeleton (:func:`repair.repair_cells`), so that nbgrader's own OverwriteCells and
    CheckCellMetadata see intact metadata even when Colab stripped it or cells were
    reordered, duplicated or retyped."""

    enabled = Bool(True).tag(config=True)
    root = Unicode("", help="course root (default: the current directory)").tag(config=True)

    def preprocess(self, nb, resources):
        aid = resources.get("nbgrader", {}).get("assignment")
        root = self.root or os.getcwd()
        release = nbformat.read(runner.GradingConfig(root=root).release_path(aid), as_version=4)
        data = json.loads(nbformat.writes(nb))
        try:
            rep = repair.repair_cells(repair.cells_of(data), release)
        except repair.Unreadable:
            return nb, resources  # SandboxedAutograde reports it
        nb.cells = rep.nb.cells
        for note in rep.notes:
            self.log.info("  repaired: %s", note)
        return nb, resources


class SandboxedAutograde(Preprocessor):
    """Grade in the sandbox; the notebook's test cells get the verdicts as outputs."""

    enabled = Bool(True).tag(config=True)
    root = Unicode("", help="course root (default: the current directory, where nbgrader runs)").tag(config=True)
    call_timeout = Float(20.0, help="seconds per call of a graded function").tag(config=True)
    cell_timeout = Float(60.0, help="seconds per notebook cell").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        aid, student = info.get("assignment"), info.get("student")
        root = self.root or os.getcwd()
        config = runner.GradingConfig(root=root, seed=runner.grading_seed(root),
                                      call_timeout=self.call_timeout, cell_timeout=self.cell_timeout)
        data = json.loads(nbformat.writes(nb))
        result = runner.grade_cells(lambda: repair.cells_of(data), aid, config, student or "?",
                                    info.get("notebook", ""))
        graded = runner.autograded_notebook(result, config.release_path(aid))
        # Test cells keep the source nbgrader restored from the gradebook (with the hidden
        # tests, as after an in-kernel autograde; the feedback's HideHiddenTests removes them).
        restored = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells
                    if repair.is_test_cell(c)}
        for cell in graded.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if repair.is_test_cell(cell) and gid in restored:
                cell.source = restored[gid]
        nb.cells = graded.cells
        self.log.info("%s: %.1f / %.1f (sandboxed%s)", student, result.score, result.max_score,
                      "" if result.isolated else ", WITHOUT bwrap")
        for note in result.notes:
            self.log.info("  %s", note)
        return nb, resources
