"""Repair a submitted notebook before grading: match its cells to the release.

Students' notebooks arrive with lost metadata (Colab drops it), reordered, duplicated or
retyped cells, edited or deleted test cells.  :func:`repair` rebuilds the notebook on the
release's skeleton:

* every release cell that is not a student answer (instructions, locked cells, test cells,
  plain code) is put back exactly as released;
* every answer cell (nbgrader ``solution``) gets the student's text, found by nbgrader
  ``grade_id`` when the metadata survived, otherwise by content: the cell(s) that define the
  graded function(s) of that answer (``def name(`` / ``class name``, in any cell type), or,
  for written answers, the cell right after the question;
* duplicated answers are kept in submission order (the later definition wins, as when the
  notebook runs top to bottom); cells the student added are kept after the release cell they
  followed;
* an answer that is missing gets the release stub, unless its functions are defined in
  another answer cell.

Files that are not notebooks raise :class:`Unreadable` with a reason (the runner gives them
zero); nothing here raises anything else on bad input.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import json
import re
from pathlib import Path

import nbformat

__all__ = ["Unreadable", "Repaired", "read_cells", "cells_of", "repair", "repair_cells", "defined_names", "is_test_cell",
           "is_answer_cell", "MAX_BYTES", "MAX_CELLS", "MAX_CELL_CHARS"]

# Bounds on what repair (which runs in the trusted grader) will look at, so that its time
# is bounded by the size of the release, not by what a submission sends: a file, its number
# of cells, one cell's source, and the cells compared by fuzzy matching (difflib is
# quadratic in the length).  A real notebook is far below each.
MAX_BYTES = 32 << 20
MAX_CELLS = 2000
MAX_CELL_CHARS = 1_000_000
MAX_FUZZY_CHARS = 20_000
MAX_FUZZY_CELLS = 200  # submitted cells compared by content; any further one counts as added


class Unreadable(ValueError):
    """The submission is not a readable notebook; ``str`` is the reason given to the student."""


@dataclasses.dataclass
class Cell:
    """A submitted cell, normalized: ``meta`` is its nbgrader metadata (or {})."""

    index: int
    cell_type: str
    source: str
    meta: dict


@dataclasses.dataclass
class Repaired:
    """``nb``: the repaired notebook (release structure and metadata).  ``answers``: answer
    grade_id -> indices of the submitted cells used for it.  ``added``: indices of cells the
    student added (kept).  ``notes``: what was repaired, one line each."""

    nb: nbformat.NotebookNode
    answers: dict
    added: list
    notes: list


def _source(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return "".join(value)
    return ""


def read_cells(path) -> list[Cell]:
    """The cells of the notebook file ``path``, leniently (any metadata, any source form).
    Raises :class:`Unreadable` for a file that is not a Jupyter notebook of format 4 (or 3,
    converted)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise Unreadable(f"the submission file cannot be read ({err.strerror})") from None
    if size > MAX_BYTES:
        raise Unreadable(f"the submission file is {size} bytes, more than the {MAX_BYTES} allowed")
    return cells_of(path.read_bytes())


def cells_of(raw: bytes | dict) -> list[Cell]:
    """The cells of a notebook given as file content (bytes) or as a parsed dict; see
    :func:`read_cells`."""
    if isinstance(raw, dict):
        data = raw
    else:
        if len(raw) > MAX_BYTES:
            raise Unreadable(f"the submission file is {len(raw)} bytes, more than the {MAX_BYTES} allowed")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise Unreadable("the submission is not a text file (not UTF-8), so not a Jupyter notebook") from None
        except (ValueError, RecursionError) as err:
            raise Unreadable(f"the submission is not valid JSON, so not a Jupyter notebook ({str(err)[:80]})") from None
    if not isinstance(data, dict):
        raise Unreadable("the submission is JSON but not a Jupyter notebook (no top-level object)")
    major = data.get("nbformat")
    if major == 3:
        try:
            data = json.loads(nbformat.writes(nbformat.reads(json.dumps(data), as_version=4)))
        except Exception as err:  # noqa: BLE001 - any conversion failure is "unreadable"
            raise Unreadable(f"the submission is an nbformat 3 notebook that cannot be converted ({err})") from None
    elif major != 4:
        raise Unreadable(f"the submission has nbformat {major!r}; a Jupyter notebook of format 4 is expected")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise Unreadable("the submission is JSON but not a Jupyter notebook (no list of cells)")
    if len(cells) > MAX_CELLS:
        raise Unreadable(f"the submission has {len(cells)} cells, more than the {MAX_CELLS} a notebook may have")
    out = []
    for i, c in enumerate(cells):
        if not isinstance(c, dict):
            continue
        ctype = c.get("cell_type")
        ctype = ctype if ctype in ("code", "markdown", "raw") else "raw"
        meta = c.get("metadata")
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        source = _source(c.get("source"))
        if len(source) > MAX_CELL_CHARS:
            raise Unreadable(f"cell {i} of the submission has {len(source)} characters, more than the "
                             f"{MAX_CELL_CHARS} a cell may have")
        out.append(Cell(i, ctype, source, nbg if isinstance(nbg, dict) else {}))
    return out


def is_test_cell(cell) -> bool:
    m = cell.get("metadata", {}).get("nbgrader", {})
    return bool(m.get("grade")) and not m.get("solution") and cell.get("cell_type") == "code"


def is_answer_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


_DEF_RE = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


def defined_names(source: str) -> list[str]:
    """Top-level function and class names defined in ``source`` (AST when it parses, else a
    column-0 ``def``/``class`` pattern, so that a retyped or broken cell still counts)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _DEF_RE.findall(source)
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _norm(s: str) -> str:
    return "\n".join(line.rstrip() for line in s.strip().splitlines())


def repair(path, release: nbformat.NotebookNode) -> Repaired:
    """Rebuild the submission at ``path`` on the skeleton of ``release`` (see module doc)."""
    return repair_cells(read_cells(path), release)


def repair_cells(cells: list[Cell], release: nbformat.NotebookNode) -> Repaired:
    """:func:`repair` for cells already read (:func:`cells_of`)."""
    rel = release.cells
    notes: list[str] = []
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(rel)
             if c.metadata.get("nbgrader", {}).get("grade_id")}
    answer_idx = [i for i, c in enumerate(rel) if is_answer_cell(c)]
    # graded names of each code answer cell, from the release stub
    names_of = {i: set(defined_names(rel[i].source)) for i in answer_idx if rel[i].cell_type == "code"}
    owner_of_name = {}
    for i in answer_idx:
        for n in sorted(names_of.get(i, ())):
            owner_of_name.setdefault(n, i)
    norm_rel = [_norm(c.source) for c in rel]

    match: dict[int, int] = {}  # submitted index -> release index
    fuzzy_left = MAX_FUZZY_CELLS
    for c in cells:
        gid = c.meta.get("grade_id")
        owners = _owners(c, owner_of_name)
        # Metadata decides, unless the cell defines another answer's graded function (then
        # its content does: the definition must be graded where it belongs).
        if gid in by_id and (not owners or by_id[gid] in owners):
            match[c.index] = by_id[gid]
            continue
        if owners:
            match[c.index] = owners[0]
            if len(owners) > 1:
                notes.append(f"submitted cell {c.index} defines functions of several answer cells "
                             f"({', '.join(_gid(rel[o]) for o in owners)}); graded as one cell")
            continue
        exact = [i for i, s in enumerate(norm_rel) if s and s == _norm(c.source)]
        if exact:
            match[c.index] = exact[0]
            continue
        if fuzzy_left <= 0:
            continue
        fuzzy_left -= 1
        near = _nearest(c, rel, norm_rel, exclude=set(answer_idx))
        if near is not None:
            match[c.index] = near
            if is_test_cell(rel[near]) or rel[near].metadata.get("nbgrader", {}).get("locked"):
                notes.append(f"{_gid(rel[near])}: the submitted cell was edited; restored from the release")

    # written answers without metadata: the first unmatched cell after the question's cell
    for r in answer_idx:
        if any(v == r for v in match.values()) or rel[r].cell_type == "code":
            continue
        anchors = [c.index for c in cells if match.get(c.index) == r - 1]
        for a in anchors:
            later = [c for c in cells if c.index > a]
            if later and later[0].index not in match:
                match[later[0].index] = r
                break

    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(release.metadata))
    answers: dict = {}
    added_after: dict[int, list[Cell]] = {}
    last = -1
    for c in cells:
        if c.index in match:
            last = match[c.index]
        elif c.source.strip():
            added_after.setdefault(last, []).append(c)
    defined_anywhere = set()
    for c in cells:
        if c.index in match and is_answer_cell(rel[match[c.index]]):
            defined_anywhere |= set(defined_names(c.source))

    def emit_added(anchor):
        for c in added_after.get(anchor, []):
            new = (nbformat.v4.new_code_cell if c.cell_type == "code" else nbformat.v4.new_markdown_cell)(c.source)
            new.metadata["opt4dl"] = {"added": True, "submitted_index": c.index}
            out.cells.append(new)

    emit_added(-1)
    for r, rc in enumerate(rel):
        cell = copy.deepcopy(rc)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if is_answer_cell(rc):
            gid = _gid(rc)
            used = [c for c in cells if match.get(c.index) == r]
            answers[gid] = [c.index for c in used]
            if used:
                cell.source = "\n\n".join(c.source for c in used)
                if len(used) > 1:
                    notes.append(f"{gid}: {len(used)} submitted cells answer it (duplicated); "
                                 "kept all, in order")
                retyped = [c.index for c in used if c.cell_type != rc.cell_type]
                if retyped:
                    notes.append(f"{gid}: submitted as a {used[0].cell_type} cell; graded as {rc.cell_type}")
                if not all(c.meta.get("grade_id") == gid for c in used):
                    notes.append(f"{gid}: matched by content (nbgrader metadata missing or wrong)")
            elif names_of.get(r) and names_of[r] <= defined_anywhere:
                cell.source = f"# {gid}: answered in another cell of the submission"
            else:
                notes.append(f"{gid}: no submitted cell answers it; the release stub is graded")
        elif is_test_cell(rc) and not any(v == r for v in match.values()):
            notes.append(f"{_gid(rc)}: test cell missing from the submission; restored")
        out.cells.append(cell)
        emit_added(r)
    added = [c.index for cs in added_after.values() for c in cs]
    if added:
        notes.append(f"{len(added)} cell(s) added by the student kept")
    return Repaired(out, answers, added, notes)


def _gid(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "?")


def _owners(c: Cell, owner_of_name: dict) -> list[int]:
    seen = []
    for n in defined_names(c.source):
        o = owner_of_name.get(n)
        if o is not None and o not in seen:
            seen.append(o)
    return seen


def _nearest(c: Cell, rel, norm_rel, exclude) -> int | None:
    """The release cell (not an answer) whose text is closest to ``c``, if close enough."""
    src = _norm(c.source)
    if not src or len(src) > MAX_FUZZY_CHARS:  # no release cell is that long: an added cell
        return None
    best, best_ratio = None, 0.8
    for i, s in enumerate(norm_rel):
        if i in exclude or not s:
            continue
        sm = difflib.SequenceMatcher(None, src, s, autojunk=False)
        if sm.real_quick_ratio() < best_ratio or sm.quick_ratio() < best_ratio:
            continue
        ratio = sm.ratio()
        if ratio > best_ratio:
            best, best_ratio = i, ratio
    return best
