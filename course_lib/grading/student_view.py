"""The student view of ``course_lib``: the package as a submission may see it.

Everything a student may import (the optimizers, layers, data loaders, ...) and, of the
grading package, only what runs inside the sandbox: the wire format (:mod:`.protocol`),
the worker (:mod:`.worker`) and the drivers that build objects there (``*_drivers``).  The
reference implementations, the catalogues of known mistakes, the checks and the grader
itself are not in it.  The sandbox mounts this folder read-only in place of the checkout,
so no path inside the sandbox leads to the references.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

__all__ = ["IN_SANDBOX", "build", "path"]

PACKAGE = Path(__file__).resolve().parents[1]  # .../course_lib

#: the modules of course_lib.grading that run inside the sandbox (nothing else of it is copied)
IN_SANDBOX = ("protocol.py", "worker.py", "a6_drivers.py")

_INIT = '"""Student view of course_lib.grading: the checks run in the grader, not here."""\n'
_LOCK = threading.Lock()
_BUILT: dict[str, Path] = {}


def _files() -> list[tuple[Path, str]]:
    """(source, path inside the view) of every file of the view."""
    out = []
    for src in sorted(PACKAGE.rglob("*")):
        rel = src.relative_to(PACKAGE)
        if not src.is_file() or "__pycache__" in rel.parts or src.suffix in (".pyc", ".pyo"):
            continue
        if rel.parts[0] == "grading" and (len(rel.parts) != 2 or rel.parts[1] not in IN_SANDBOX):
            continue
        out.append((src, str(Path("course_lib") / rel)))
    return out


def build(dest: str | os.PathLike) -> Path:
    """Write the view into ``dest`` (``dest/course_lib/...``) and return ``dest``."""
    dest = Path(dest)
    for src, rel in _files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    (dest / "course_lib" / "grading" / "__init__.py").write_text(_INIT)
    for d in [dest, *dest.rglob("*")]:
        os.chmod(d, 0o755 if d.is_dir() else 0o644)
    return dest


def path() -> Path:
    """A built view of the current sources (built once per process and content, in a
    private temporary folder that the sandbox's uid may read)."""
    h = hashlib.sha256()
    for src, rel in _files():
        h.update(rel.encode() + b"\0" + src.read_bytes() + b"\0")
    key = h.hexdigest()[:16]
    with _LOCK:
        if key not in _BUILT or not _BUILT[key].is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=f"opt4dl-student-view-{key}-"))
            os.chmod(tmp, 0o755)
            atexit.register(shutil.rmtree, tmp, True)
            _BUILT[key] = build(tmp)
        return _BUILT[key]
