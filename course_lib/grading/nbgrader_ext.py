"""nbgrader plug-ins of the course (configured in nbgrader_config.py).

:class:`HideHiddenTests` runs in ``nbgrader generate_feedback``: the autograded notebook
contains the hidden tests (autograde restores them from the gradebook), and nbgrader's
feedback would otherwise show that code.  In every autograded test cell it removes the
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region and cuts error tracebacks to
their last line, the :class:`~course_lib.grading.core.CheckFailed` message, which already
says what is wrong (first differing case, expected and actual values, the known mistake).
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

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


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


class HideHiddenTests(Preprocessor):
    """Remove hidden-test code and tracebacks from autograded test cells (feedback only)."""

    enabled = Bool(True).tag(config=True)
    begin_delimiter = Unicode(BEGIN).tag(config=True)
    end_delimiter = Unicode(END).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if not _is_test_cell(cell):
            return cell, resources
        cell.source = strip_hidden(cell.source, self.begin_delimiter, self.end_delimiter)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
