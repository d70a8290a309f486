"""What a submission may use, and the static half of enforcing it.

``POLICY`` says, per assignment, which installed packages the sandbox contains (an
allow-list), which course_lib modules and library names score 0 when an answer uses them,
and what the sandbox neutralises.  :func:`violations` inspects the student's own cells
(answers and the cells they added) without running them: an import or dotted use of a
forbidden name costs the graded functions that contain or use it.  The sandbox enforces
the same policy at run time (:mod:`.worker`), so hiding a name from this inspection does
not help.
"""
from __future__ import annotations

import ast
import re
from typing import Iterable

from . import repair

__all__ = ["POLICY", "NUMPY_PACKAGES", "REFERENCE", "static_violations", "static_source", "violations"]

REFERENCE = "the course's reference implementation"
_OPTIM = ["course_lib.grading", "course_lib.optim", "course_lib.torch_optim"]
_TORCH_OPTIM_RULES = ["torch.optim.Adam", "torch.optim.AdamW", "torch.optim.adam", "torch.optim.adamw",
                      "torch.optim._functional"]

NUMPY_PACKAGES = ("numpy", "matplotlib", "ipython")  # what a NumPy assignment may import (and their needs)

#: assignment -> what its solutions may use.  ``packages``: the installed distributions the
#: sandbox's file system contains (an allow-list: torch is not there for a NumPy assignment,
#: so neither is torch.optim); ``modules``: course_lib prefixes that score 0 when imported
#: (static check) and are unimportable in the sandbox; ``names``: dotted names whose use in
#: an answer scores 0 (static); ``poison``: (module, attribute or "*") neutralised in the
#: sandbox; ``drivers``: the module whose ``DRIVERS`` run checks inside the sandbox.
POLICY: dict[str, dict] = {
    "a1_gradient_descent": {"packages": NUMPY_PACKAGES, "modules": ["course_lib.grading", "course_lib.gradcheck"],
                            "names": []},
    "a2_momentum": {"packages": NUMPY_PACKAGES, "modules": _OPTIM, "names": ["torch.optim"]},
    "a3_adaptive": {"packages": NUMPY_PACKAGES, "modules": _OPTIM, "names": ["torch.optim"]},
    "a4_adam_family": {"packages": NUMPY_PACKAGES, "modules": _OPTIM + ["course_lib.schedules"], "names": ["torch.optim"]},
    "a5_batchnorm": {"packages": NUMPY_PACKAGES, "modules": ["course_lib.grading", "course_lib.layers"], "names": []},
    "a6_training": {
        "packages": NUMPY_PACKAGES + ("torch",),
        "modules": _OPTIM + ["course_lib.train"], "names": _TORCH_OPTIM_RULES,
        # Every function of torch's Adam modules refuses (their code objects are replaced,
        # so a reference found through gc does too), and so do the classes' step methods
        # and the fused kernels.
        "poison": [("torch.optim.Adam", "step"), ("torch.optim.AdamW", "step"),
                   ("torch.optim.adam", "*"), ("torch.optim.adamw", "*"),
                   ("torch.optim._functional", "adam"), ("torch.optim._functional", "adamw"),
                   ("torch", "_fused_adam_"), ("torch", "_fused_adamw_"),
                   ("torch._C._VariableFunctions", "_fused_adam_"),
                   ("torch._C._VariableFunctions", "_fused_adamw_")],
        "drivers": "course_lib.grading.a6_drivers",
    },
}


# ----------------------------------------------------------------------------- static inspection


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _matches(name: str, prefixes: Iterable[str]) -> str | None:
    for p in prefixes:
        if name == p or name.startswith(p + "."):
            return p
    return None


def static_violations(source: str, modules: list[str], names: list[str]) -> list[str]:
    """Uses of forbidden reference code in one cell: imports of ``modules`` (``import``,
    ``from ... import``, ``__import__``/``importlib.import_module`` with a literal), and dotted
    uses of ``modules`` or ``names`` (``course_lib.optim.adam_step``, ``torch.optim.Adam``,
    also through an ``import ... as`` alias).  One readable line per use."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    banned = list(modules) + list(names)
    alias: dict[str, str] = {}
    found: list[str] = []

    def flag(full: str, line: int, how: str):
        hit = _matches(full, banned)
        if hit:
            found.append(f"line {line} {how} {full} ({REFERENCE} or a library's, not allowed here)")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                flag(a.name, node.lineno, "imports")
                alias[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            flag(node.module, node.lineno, "imports")
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if not _matches(node.module, banned):
                    flag(full, node.lineno, "imports")
                alias[a.asname or a.name] = full
        elif isinstance(node, ast.Call):
            fn = _dotted(node.func)
            if fn in ("__import__", "importlib.import_module", "import_module") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                flag(node.args[0].value, node.lineno, "imports")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            full = _dotted(node)
            if full:
                head, _, rest = full.partition(".")
                resolved = alias.get(head, head) + ("." + rest if rest else "")
                if _matches(resolved, banned) and not any(resolved in f for f in found):
                    flag(resolved, node.lineno, "uses")
    return list(dict.fromkeys(found))


def _bound_names(source: str) -> set[str]:
    """Names a cell's top-level code mentions (to tie an added cell's import to a function)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _tainted_names(source: str, banned: list[str]) -> set[str]:
    """Names a cell binds to forbidden code: ``import``/``from`` of a banned module, or an
    assignment whose value uses a banned dotted name (``MyAdam = torch.optim.Adam``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.asname or a.name.split(".")[0] for a in node.names if _matches(a.name, banned)}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out |= {a.asname or a.name for a in node.names
                    if _matches(node.module, banned) or _matches(f"{node.module}.{a.name}", banned)}
        elif isinstance(node, ast.Assign):
            used = {_dotted(n) for n in ast.walk(node.value) if isinstance(n, ast.Attribute)}
            if any(u and _matches(u, banned) for u in used):
                out |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return out




_MAGIC = re.compile(r"^(\s*)(?:[%!]|\w[\w.]*\s*=\s*[%!]).*$", re.MULTILINE)


def static_source(source: str) -> str:
    """The cell as plain Python for the static inspection only: IPython lines (``%magic``,
    ``!cmd``, ``x = !cmd``) become ``pass``.  Linear in the cell's size; the real IPython
    transformation runs in the sandbox (:mod:`.worker`), under its time limit."""
    return _MAGIC.sub(lambda m: m.group(1) + "pass", source)


def violations(nb, assignment: str, fn_names: list[str]) -> dict[str, list[str]]:
    """graded function -> the forbidden uses that cost it its parts, from the repaired
    notebook ``nb``'s answer cells and added cells."""
    pol = POLICY.get(assignment, {"modules": ["course_lib.grading"], "names": []})
    answer_src = {}
    for cell in nb.cells:
        if repair.is_answer_cell(cell) and cell.cell_type == "code":
            for n in repair.defined_names(cell.source):
                answer_src.setdefault(n, []).append(cell.source)
    banned: dict[str, list[str]] = {}
    for cell in nb.cells:
        student_cell = repair.is_answer_cell(cell) or cell.metadata.get("opt4dl", {}).get("added")
        if cell.cell_type != "code" or not student_cell:
            continue
        found = static_violations(static_source(cell.source), pol.get("modules", []), pol.get("names", []))
        if not found:
            continue
        defined = set(repair.defined_names(cell.source)) & set(fn_names)
        if defined:  # the violation is in the answer itself
            for fn in defined:
                banned.setdefault(fn, []).extend(found)
            continue
        # elsewhere (an added cell): the graded functions that use what it imported
        tied = _tainted_names(cell.source, pol.get("modules", []) + pol.get("names", []))
        for fn in fn_names:
            uses = set().union(*(_bound_names(s) for s in answer_src.get(fn, [])))
            if tied & uses:
                banned.setdefault(fn, []).extend(found)
    return banned
