"""The outcome of grading one submission, and where it is kept between the grading
workers and nbgrader.

:class:`Result` (one :class:`PartResult` per graded part) is what the runner returns and
what travels back from a worker or a Dask cluster (it is a plain dataclass).  The store
keeps each result under a key that hashes everything it depends on (the submitted file,
the release, the grading code, the seed and the limits), so that a resubmission or a fixed
check makes it stale.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

__all__ = ["PartResult", "Result", "result_key", "store_result", "stored_result"]

@dataclasses.dataclass
class PartResult:
    check_id: str
    points: float
    score: float
    message: str = ""


@dataclasses.dataclass
class Result:
    """The outcome for one submission.  ``error``: why nothing could be graded (score 0).
    ``notes``: repairs, skipped cells, sandbox faults.  ``isolated``: bwrap was used."""

    student: str
    assignment: str
    path: str
    parts: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    notes: list = dataclasses.field(default_factory=list)
    cell_errors: dict = dataclasses.field(default_factory=dict)
    isolated: bool = False
    seconds: float = 0.0
    grader_fault: bool = False  # the grader, not the submission, failed: grade it again
    notebook: str | None = None  # the repaired notebook (JSON), for the autograded copy

    @property
    def score(self) -> float:
        return float(sum(p.score for p in self.parts.values()))

    @property
    def max_score(self) -> float:
        return float(sum(p.points for p in self.parts.values()))

    def scores(self) -> dict[str, float]:
        return {k: p.score for k, p in self.parts.items()}

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("notebook")
        d.update(score=self.score, max_score=self.max_score)
        return d

    @classmethod
    def from_dict(cls, d: dict, notebook: str | None = None) -> "Result":
        """Inverse of :meth:`to_dict` (``notebook`` given separately)."""
        fields = {f.name for f in dataclasses.fields(cls)} - {"parts", "notebook"}
        r = cls(**{k: v for k, v in d.items() if k in fields}, notebook=notebook)
        r.parts = {k: PartResult(**p) for k, p in d.get("parts", {}).items()}
        return r


# tools/grade.py grades every submission in N worker processes (or on a Dask cluster) and
# stores each result here; nbgrader's autograde, driven in that process through its API,
# then records each one and SandboxedAutograde takes the stored result instead of grading
# again.  nbgrader stays the only writer of the gradebook (no SQLite lock errors, no lost
# rows) and does all of its own bookkeeping (late penalties, comments, manual grading).


def result_key(submission: str | os.PathLike, assignment: str, config) -> str:
    """Everything a result depends on: the submitted file, the release, the grading code
    (every module of course_lib.grading), the seed and the limits.  A change to any of them (a fixed
    check, a resubmission) makes a stored result stale."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    files = [Path(submission), config.release_path(assignment), *sorted(here.glob("*.py"))]
    for path in files:
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<missing>")
        h.update(b"\0")
    limits = dataclasses.replace(config, root="", release=None)
    h.update(repr(limits).encode())
    return h.hexdigest()


def _cache_path(root, student: str, assignment: str) -> Path:
    return Path(root) / "grading" / "results" / assignment / f"{student}.json"


def store_result(result: Result, key: str, root: str | os.PathLike) -> Path:
    """Keep ``result`` for :func:`stored_result` (``grading/results/<A>/<student>.json``)."""
    path = _cache_path(root, result.student, result.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "result": result.to_dict(), "notebook": result.notebook}))
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def stored_result(student: str, assignment: str, key: str, root: str | os.PathLike) -> Result | None:
    """The result :func:`store_result` kept for this submission, if its key still matches."""
    try:
        data = json.loads(_cache_path(root, student, assignment).read_text())
        if data.get("key") != key:
            return None
        return Result.from_dict(data["result"], data.get("notebook"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
