r"""Who submitted this file? Student ids from the download names of the common LMSs.

``nbgrader zip_collect`` takes each file of a downloaded archive, asks a collector plugin
for the student and the notebook it holds, and copies it to
``grading/submitted/<student_id>/<assignment>/<assignment>.ipynb``. Every learning
management system names the files of its "download all submissions" archive its own way;
:data:`NAMINGS` lists the ones this course reads, first match wins:

=========== =============================================================== ==============
LMS         file in the archive                                             student id
=========== =============================================================== ==============
Canvas      ``doejane_12345_67890_a5_batchnorm.ipynb`` (``_LATE_`` after     ``12345`` (the
            the name when late; a resubmission may end ``-1.ipynb``)        Canvas user id)
Moodle      ``Jane Doe_4321_assignsubmission_file_/a5_batchnorm.ipynb``     ``jane_doe``
            (older versions: one flat name, without the ``/``)              (the name)
Blackboard  ``A5_jdoe_attempt_2026-12-01-10-11-12_a5_batchnorm.ipynb``      ``jdoe`` (the
            (the attempt's time becomes the submission's timestamp)         username)
course      ``<student_id>_<assignment>.ipynb``, e.g. ``j_doe_a5_batchnorm``  ``j_doe``
            ``.ipynb`` (ids may contain ``_``)
=========== =============================================================== ==============

Whatever a student named the notebook ("Copy of a5_batchnorm.ipynb", "a5 (1).ipynb"), it
is collected as the assignment's notebook: each assignment is one notebook. Moodle's
participant number changes from one assignment to the next, so there the student's name
(lower case, ``_`` for spaces) is the id; Canvas's name part is not unique, its user id is.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

from nbgrader.plugins import FileNameCollectorPlugin


class Naming(NamedTuple):
    lms: str
    pattern: "re.Pattern[str]"  # matched against "<parent folder>/<file name>"


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


NAMINGS = (
    Naming("Canvas", re.compile(
        r"^(?:.*/)?(?P<name>[a-z0-9]+)(?:_LATE)?_(?P<student_id>\d+)_\d+_[^/]+$")),
    Naming("Moodle", re.compile(
        r"^(?:.*/)?(?P<name>[^/_]+)_\d+_assignsubmission_file_(?:/|_?)[^/]+$")),
    Naming("Blackboard", re.compile(
        r"^(?:.*/)?[^/]*?_(?P<student_id>[^_/]+)_attempt_"
        r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_[^/]*|\.ipynb)$")),
)


def identify(path: str, assignment: str) -> Optional[dict]:
    """``{"lms", "student_id", "timestamp"}`` for a file of the archive, or None.

    ``path`` may be absolute; only its last two components (Moodle's per-student folder and
    the file name) are read.
    """
    tail = "/".join(path.replace("\\", "/").split("/")[-2:])
    for naming in NAMINGS:
        m = naming.pattern.match(tail)
        if not m:
            continue
        groups = m.groupdict()
        student = groups.get("student_id") or _slug(groups["name"])
        stamp = groups.get("timestamp")
        if stamp:  # 2026-12-01-10-11-12 -> 2026-12-01 10:11:12
            day, clock = stamp[:10], stamp[11:].replace("-", ":")
            stamp = f"{day} {clock}"
        return {"lms": naming.lms, "student_id": student, "timestamp": stamp}
    course = re.match(rf"^(?P<student_id>.+?)_{re.escape(assignment)}\b[^/]*$",
                      path.replace("\\", "/").split("/")[-1])
    if course:
        return {"lms": "course", "student_id": course["student_id"], "timestamp": None}
    return None


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader collector plugin reading :data:`NAMINGS` (set in ``nbgrader_config.py``)."""

    def collect(self, submitted_file: str) -> Optional[dict]:
        if not submitted_file.endswith(".ipynb"):
            return None
        assignment = self.parent.coursedir.assignment_id
        found = identify(submitted_file, assignment)
        if found is None:
            self.log.warning("Skipped %s: its name matches no LMS download naming",
                             submitted_file)
            return None
        info = {"student_id": found["student_id"], "file_id": f"{assignment}.ipynb"}
        if found["timestamp"]:
            info["timestamp"] = found["timestamp"]
        return info
