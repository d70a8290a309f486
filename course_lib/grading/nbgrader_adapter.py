"""The course's nbgrader plug-ins: the one place where grading meets nbgrader.

Registered in nbgrader_config.py through nbgrader's own extension points::

    c.Autograde.exporter_class = "course_lib.grading.nbgrader_adapter.TolerantNotebookExporter"
    c.Autograde.sanitize_preprocessors = [
        "course_lib.grading.nbgrader_adapter.RepairSubmission", ...nbgrader's defaults...]
    c.Autograde.autograde_preprocessors = [
        "course_lib.grading.nbgrader_adapter.SandboxedAutograde",  # instead of Execute
        ...nbgrader's defaults after Execute...]
    c.GenerateFeedback.preprocessors = [..., "course_lib.grading.nbgrader_adapter.HideHiddenTests", ...]

Instead of running the submission in a Jupyter kernel (where the student's code shares the
grader's privileges and can rewrite test cells, monkeypatch the checks or write the
gradebook), :class:`SandboxedAutograde` grades the notebook with
:func:`course_lib.grading.runner.grade_cells`: repair, the student's code in a
:mod:`sandbox`, the checks in this process.  It then replaces the notebook by the repaired
one whose test cells carry the verdicts as outputs (an error output with the check's message
for a failed part), which nbgrader's ``SaveAutoGrades`` turns into scores as usual;
feedback, formgrader and export are unchanged.  :class:`HideHiddenTests` keeps the hidden
tests' code and tracebacks out of the feedback.  The preprocessors subclass nbgrader's
``NbGraderPreprocessor`` and read cells with ``nbgrader.utils``; every limit is a setting
(:data:`SETTINGS`, one trait per field of its one definition).
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Int, Unicode

from . import repair, results, runner, sandbox, text

#: notebook metadata key that carries why a submission could not be read

UNREADABLE = "opt4dl_unreadable"


_LIMIT_FIELDS = {f.name for f in dataclasses.fields(sandbox.SandboxConfig) if "help" in f.metadata}
#: every instructor setting of grading: name -> its dataclass field (default and help)
SETTINGS = {f.name: f for cls in (sandbox.SandboxConfig, runner.GradingConfig)
            for f in dataclasses.fields(cls) if "help" in f.metadata}


def _trait(field):
    kind = {bool: Bool, int: Int, float: Float}[type(field.default)]
    return kind(field.default, help=field.metadata["help"]).tag(config=True)


class TolerantNotebookExporter(NotebookExporter):
    """nbgrader reads each submission with this exporter.  A file that is not a notebook
    (not JSON, not UTF-8, a wrong nbformat) would make nbgrader skip the student (no row in
    the gradebook); here it becomes the released notebook marked with the reason, which
    :class:`SandboxedAutograde` grades as zero with that reason."""

    root = Unicode("", help="course root (default: the current directory)").tag(config=True)

    def from_file(self, file_stream, resources=None, **kw):
        try:
            raw = file_stream.read()
            raw = raw.encode("utf-8") if isinstance(raw, str) else raw
            repair.cells_of(raw)  # the reason, in the same words as the runner's
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        except (repair.Unreadable, UnicodeDecodeError, ValueError, TypeError, KeyError,
                AttributeError, RecursionError) as err:
            reason = str(err) if isinstance(err, repair.Unreadable) else \
                f"the submission is not a readable Jupyter notebook ({type(err).__name__})"
            aid = (resources or {}).get("nbgrader", {}).get("assignment")
            release = runner.GradingConfig(root=self.root or os.getcwd()).release_path(aid)
            nb = nbformat.read(release, as_version=4)
            nb.metadata[UNREADABLE] = reason
        return self.from_notebook_node(nb, resources=resources, **kw)


class RepairSubmission(NbGraderPreprocessor):
    """First of the *sanitize* preprocessors: rebuild the submission on the release's
    skeleton (:func:`repair.repair_cells`), so that nbgrader's own OverwriteCells and
    CheckCellMetadata see intact metadata even when Colab stripped it or cells were
    reordered, duplicated or retyped."""

    root = Unicode("", help="course root (default: the current directory)").tag(config=True)

    def preprocess(self, nb, resources):
        aid = resources.get("nbgrader", {}).get("assignment")
        root = self.root or os.getcwd()
        release = nbformat.read(runner.GradingConfig(root=root).release_path(aid), as_version=4)
        data = json.loads(nbformat.writes(nb))
        # nbgrader writes this notebook as soon as the sanitize step ends: no lone
        # surrogate may be left in it (it could not be encoded), from here on.
        text.clean_tree(nb)
        try:
            rep = repair.repair_cells(repair.cells_of(data), release)
        except repair.Unreadable:
            return nb, resources  # SandboxedAutograde reports it
        rep.nb.metadata = nb.metadata
        nb.cells = runner.safe_student_markdown(rep.nb).cells
        _with_hidden_tests(nb, Path(root) / "solutions" / aid / f"{aid}.ipynb")
        for note in rep.notes:
            self.log.info("  repaired: %s", text.clean(note))
        return nb, resources


def _with_hidden_tests(nb, source_path: Path) -> None:
    """Give the test cells their source-notebook code (with the hidden tests), as
    OverwriteCells would: it then finds every locked cell unchanged, and its "checksum has
    changed" warning is left for a submission that really changed one (repair already put
    the released test cells back)."""
    try:
        source = nbformat.read(source_path, as_version=4)
    except (OSError, ValueError):
        return
    _copy_test_sources(source.cells, nb.cells)


def _copy_test_sources(from_cells, to_cells) -> None:
    """Give each test cell of ``to_cells`` the source of the test cell with its grade_id in
    ``from_cells``."""
    sources = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in from_cells
               if repair.is_test_cell(c)}
    for cell in to_cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if repair.is_test_cell(cell) and gid in sources:
            cell.source = sources[gid]


class SandboxedAutograde(NbGraderPreprocessor):
    """Grade in the sandbox; the notebook's test cells get the verdicts as outputs.  A result
    stored by parallel pre-grading (:func:`runner.pregrade`) for exactly this submission,
    release, grading code and seed is used instead of grading again."""

    root = Unicode("", help="course root (default: the current directory, where nbgrader runs)").tag(config=True)
    use_stored = Bool(True, help="use results stored by tools/grade.py grade -j N").tag(config=True)
    # The limits, as settings: one trait per field of their one definition (see SETTINGS).
    locals().update({name: _trait(field) for name, field in SETTINGS.items()})

    def grading_config(self) -> runner.GradingConfig:
        root = self.root or os.getcwd()
        limits = {n: getattr(self, n) for n in SETTINGS if n in _LIMIT_FIELDS}
        return runner.GradingConfig(root=root, seed=runner.grading_seed(root), limits=runner.limited(**limits),
                                    submission_timeout=self.submission_timeout)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        aid, student = info.get("assignment"), info.get("student") or "?"
        config = self.grading_config()
        unreadable = nb.metadata.pop(UNREADABLE, None)
        result = None
        submitted = runner.submission_path(config.root, student, aid)
        key = results.result_key(submitted, aid, config) if info.get("notebook") == aid else None
        if key and self.use_stored:
            result = results.stored_result(student, aid, key, config.root)
        stored = result is not None
        if result is None:
            data = json.loads(nbformat.writes(nb))

            def read():
                if unreadable:
                    raise repair.Unreadable(unreadable)
                return repair.cells_of(data)

            try:
                result = runner.grade_cells(read, aid, config, student, str(submitted))
            except Exception as err:  # noqa: BLE001 - a grader fault: this submission only
                if isinstance(err, runner._sandbox.SandboxUnavailable):
                    raise
                result = runner.failed_result(student, aid, str(submitted), f"internal grading error: "
                                              f"{type(err).__name__}: {text.clean(err, 300)}")
        graded = runner.autograded_notebook(result, config.release_path(aid))
        text.clean_tree(nb.metadata)  # nbgrader writes it back: no lone surrogates
        # Test cells keep the source nbgrader restored from the gradebook (with the hidden
        # tests, as after an in-kernel autograde; the feedback's HideHiddenTests removes them).
        _copy_test_sources(nb.cells, graded.cells)
        nb.cells = graded.cells
        self.log.info("%s: %.1f / %.1f (sandboxed%s%s)", student, result.score, result.max_score,
                      "" if result.isolated else ", WITHOUT bwrap",
                      ", graded by a parallel worker" if stored else "")
        for note in ([result.error] if result.error else []) + result.notes:
            self.log.info("  %s", note)
        return nb, resources


def grading_config(root: str | os.PathLike, **overrides) -> runner.GradingConfig:
    """The :class:`runner.GradingConfig` that ``nbgrader autograde`` uses in the course at
    ``root`` (read from its nbgrader_config.py), so that pre-grading outside nbgrader
    stores results under the same key."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return SandboxedAutograde(config=cfg, root=str(Path(root).resolve()), **overrides).grading_config()


def print_settings() -> None:
    """Every grading setting of nbgrader_config.py, with its default and meaning."""
    for name, field in SETTINGS.items():
        print(f"c.SandboxedAutograde.{name} = {field.default!r}\n    {field.metadata['help']}")


# ----------------------------------------------------------------------------- feedback

BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"


def strip_hidden(source: str, begin: str = BEGIN, end: str = END) -> str:
    """``source`` without the lines from ``begin`` to ``end`` (inclusive)."""
    out, hidden = [], False
    for line in source.split("\n"):
        if begin in line:
            hidden = True
        elif end in line:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test code and tracebacks from autograded test cells (feedback only)."""

    begin_delimiter = Unicode(BEGIN).tag(config=True)
    end_delimiter = Unicode(END).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if not (utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code"):
            return cell, resources
        cell.source = strip_hidden(cell.source, self.begin_delimiter, self.end_delimiter)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
