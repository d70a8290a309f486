"""Tamper-proof grading: repair -> sandboxed student code -> trusted checks -> results.

:func:`grade_submission` is a pure function ``(path, assignment, config) -> Result``: it
repairs the notebook (:mod:`.repair`), runs its code cells in a :class:`.sandbox.Sandbox`,
and runs every check of ``course_lib.grading.<assignment>`` *here*, in the trusted process,
with a proxy in place of each graded function: each call goes to the sandbox with inputs
chosen here and only the returned values come back (checks whose driver builds objects that
cannot travel, e.g. torch models in a6, run that driver inside the sandbox and send back its
arrays).  The reference, the comparison and the score never run where student code runs.

Hidden cases are drawn from :func:`core.case_rng` / :func:`core.case_seed` while
:func:`core.hidden_seed` holds the instructor's grading seed (:func:`grading_seed`), so
their values (torch generators included) cannot be known in advance.

A submission that imports the course's reference code for a part scores 0 on that part
(static AST inspection of the student's cells, :func:`static_violations`); inside the sandbox
the same modules are unimportable as well.

:func:`grade_many` grades many submissions with any ``concurrent.futures.Executor``
(``ProcessPoolExecutor`` locally; ``distributed.Client().get_executor()`` on a Dask cluster);
:func:`pregrade` stores each result (``grading/results/``) for nbgrader's autograde, which
records them one by one: nbgrader stays the only writer of the gradebook (INSTRUCTORS.md;
``tools/grade.py grade A -j N`` runs both).
"""
from __future__ import annotations

import ast
import concurrent.futures as cf
import contextlib
import dataclasses
import importlib
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from . import core, repair as _repair, sandbox as _sandbox, text

__all__ = ["GradingConfig", "PartResult", "Result", "POLICY", "grade_submission", "grade_many",
           "static_violations", "grading_seed", "Executor",
           "find_submissions", "DEFAULT_TEST_SEED", "grade_cells", "autograded_notebook",
           "submission_path", "result_key", "store_result", "stored_result", "pregrade"]

DEFAULT_TEST_SEED = 20240601
SEED_ENV = "OPT4DL_GRADING_SEED"

_REF = "the course's reference implementation"
_OPTIM = ["course_lib.grading", "course_lib.optim", "course_lib.torch_optim"]
_TORCH_OPTIM_RULES = ["torch.optim.Adam", "torch.optim.AdamW", "torch.optim.adam", "torch.optim.adamw",
                      "torch.optim._functional"]

_NUMPY = ("numpy", "matplotlib", "ipython")  # what a NumPy assignment may import (and their needs)

#: assignment -> what its solutions may use.  ``packages``: the installed distributions the
#: sandbox's file system contains (an allow-list: torch is not there for a NumPy assignment,
#: so neither is torch.optim); ``modules``: course_lib prefixes that score 0 when imported
#: (static check) and are unimportable in the sandbox; ``names``: dotted names whose use in
#: an answer scores 0 (static); ``poison``: (module, attribute or "*") neutralised in the
#: sandbox; ``drivers``: the module whose ``DRIVERS`` run checks inside the sandbox.
POLICY: dict[str, dict] = {
    "a1_gradient_descent": {"packages": _NUMPY, "modules": ["course_lib.grading", "course_lib.gradcheck"],
                            "names": []},
    "a2_momentum": {"packages": _NUMPY, "modules": _OPTIM, "names": ["torch.optim"]},
    "a3_adaptive": {"packages": _NUMPY, "modules": _OPTIM, "names": ["torch.optim"]},
    "a4_adam_family": {"packages": _NUMPY, "modules": _OPTIM + ["course_lib.schedules"], "names": ["torch.optim"]},
    "a5_batchnorm": {"packages": _NUMPY, "modules": ["course_lib.grading", "course_lib.layers"], "names": []},
    "a6_training": {
        "packages": _NUMPY + ("torch",),
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


def grading_seed(root: str | os.PathLike | None = None) -> int:
    """The instructor's seed for hidden cases: ``$OPT4DL_GRADING_SEED``, else the number in
    ``<root>/grading/grading_seed`` (git-ignored; created with a random value on first use,
    so that re-grading gives the same scores).  Never stored in the repository."""
    env = os.environ.get(SEED_ENV)
    if env:
        try:
            return int(env)
        except ValueError:
            raise ValueError(f"{SEED_ENV} must be an integer, got {env!r}") from None
    if root is None:
        raise ValueError(f"no grading seed: set {SEED_ENV} or give the course root")
    path = Path(root) / "grading" / "grading_seed"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{secrets.randbits(48)}\n")
        os.chmod(path, 0o600)
    return int(path.read_text().strip())


@dataclasses.dataclass(frozen=True)
class GradingConfig:
    """Everything :func:`grade_submission` needs besides the submission (picklable, so it
    can travel to another process or machine).  ``release``: the released notebook (default
    ``<root>/assignments/<id>/<id>.ipynb``); ``hidden``: extra paths blanked in the sandbox
    (the course's grading/, solutions/ and .git always are)."""

    root: str = str(Path(__file__).resolve().parents[2])
    seed: int = DEFAULT_TEST_SEED
    release: str | None = None
    cell_timeout: float = 60.0
    call_timeout: float = 20.0
    cpu_seconds: int = 600
    memory_bytes: int = 6 << 30
    unsafe: bool = False
    hidden: tuple = ()
    max_restarts: int = 8
    #: wall-clock seconds for everything one submission runs (cells, calls, restarts)
    submission_timeout: float = 900.0

    def release_path(self, assignment: str) -> Path:
        return Path(self.release or Path(self.root) / "assignments" / assignment / f"{assignment}.ipynb")

    def sandbox_config(self, assignment: str | None = None) -> _sandbox.SandboxConfig:
        hidden = tuple(dict.fromkeys(_sandbox.default_hidden(self.root) + _sandbox.default_hidden()
                                     + tuple(self.hidden)))
        packages = POLICY.get(assignment, {}).get("packages", _NUMPY)
        return _sandbox.SandboxConfig(cell_timeout=self.cell_timeout, call_timeout=self.call_timeout,
                                      cpu_seconds=self.cpu_seconds, memory_bytes=self.memory_bytes,
                                      hidden=hidden, unsafe=self.unsafe, packages=tuple(packages))


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
            found.append(f"line {line}: {how} {full} ({_REF} or a library's, not allowed here)")

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


# ----------------------------------------------------------------------------- code of the notebook


_MAGIC = re.compile(r"^(\s*)(?:[%!]|\w[\w.]*\s*=\s*[%!]).*$", re.MULTILINE)


def _static_source(source: str) -> str:
    """The cell as plain Python for the static inspection only: IPython lines (``%magic``,
    ``!cmd``, ``x = !cmd``) become ``pass``.  Linear in the cell's size; the real IPython
    transformation runs in the sandbox (:mod:`.worker`), under its time limit."""
    return _MAGIC.sub(lambda m: m.group(1) + "pass", source)


def _cells_to_run(nb) -> list[tuple[str, str]]:
    """(label, source) of every code cell to execute: all but the test cells."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or _repair.is_test_cell(cell) or not cell.source.strip():
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        label = f"cell {i}" + (f" ({gid})" if gid else "")
        out.append((label, cell.source))
    return out


# ----------------------------------------------------------------------------- a sandbox session


class _Session:
    """A sandbox with the notebook loaded; restarted (and the cells replayed, skipping any
    that crashed or hung) after a fault.  Everything it runs shares one wall-clock budget,
    ``config.submission_timeout``: once spent, every further request fails at once."""

    def __init__(self, config: GradingConfig, assignment: str, cells, result: Result):
        self.config, self.assignment, self.cells, self.result = config, assignment, cells, result
        self.skip: set[int] = set()
        self.sb: _sandbox.Sandbox | None = None
        self.restarts = 0
        self.names: dict[str, str] = {}
        self.deadline = time.monotonic() + config.submission_timeout

    def check_budget(self) -> None:
        if time.monotonic() > self.deadline:
            self.close()
            raise _sandbox.SandboxFault(
                f"the submission used up its time budget ({self.config.submission_timeout:g} s for "
                "all of its cells and calls); the rest was not run")

    def ensure(self, names: list[str]) -> _sandbox.Sandbox:
        self.check_budget()
        while self.sb is None or not self.sb.alive:
            if self.restarts > self.config.max_restarts:
                raise _sandbox.SandboxFault("the submission's code crashed the sandbox too many times")
            self.restarts += 1
            self._load(names)
            self.check_budget()
        return self.sb

    def _load(self, names):
        pol = POLICY.get(self.assignment, {})
        sb = _sandbox.Sandbox(self.config.sandbox_config(self.assignment)).start()
        self.result.isolated = sb.isolated
        sb.setup(forbidden=pol.get("modules", []), poison=pol.get("poison", []),
                 reason=f"the graded parts of {self.assignment} must be your own code, "
                        f"not {_REF}",
                 drivers=pol.get("drivers"))
        for k, (label, src) in enumerate(self.cells):
            if k in self.skip:
                continue
            if time.monotonic() > self.deadline:
                sb.close()
                return  # ensure() reports the spent budget
            try:
                err = sb.exec_cell(src, label)
            except _sandbox.SandboxFault as fault:
                self.skip.add(k)
                self.result.notes.append(f"{label} was skipped: {fault}")
                self.result.cell_errors[label] = str(fault)
                return  # sb is dead; ensure() restarts without that cell
            if err is not None:
                self.result.cell_errors[label] = err
        self.names = sb.lookup(names)
        self.sb = sb

    def close(self):
        if self.sb is not None:
            self.sb.close()
            self.sb = None


def _driver_name(drivers_module: str, driver) -> str | None:
    """The name under which ``drivers_module.DRIVERS`` holds ``driver`` (the sandbox runs
    drivers by name: functions do not travel)."""
    table = importlib.import_module(drivers_module).DRIVERS
    return next((k for k, v in table.items() if v is driver), None)


def _run_part(module, part: str, fn_name: str, session: _Session, hidden: bool, seed: int,
              drivers: str | None, all_names: list[str]) -> None:
    """Run one check function (visible or hidden part) against the sandboxed ``fn_name``;
    raises core.CheckFailed with the feedback when it fails.  Hidden cases are drawn with
    the instructor's seed (:func:`core.hidden_seed`)."""
    check = getattr(module, part)
    spec = getattr(check, "spec", None)
    key = _driver_name(drivers, spec.driver) if drivers and spec is not None and spec.driver else None
    with core.hidden_seed(seed) if hidden else contextlib.nullcontext():
        if key is not None:  # the driver builds objects: run it in the sandbox, compare here
            cases = spec.cases() if callable(spec.cases) else list(spec.cases)

            def remote_driver(*args, **kwargs):
                return session.ensure(all_names).drive(key, fn_name, args, kwargs, label=f"running {fn_name}")

            core.check_cases(remote_driver, spec.wrap(spec.reference), cases, name=spec.name,
                             tol=spec.tol, variants=spec.variants, select=spec.select,
                             check_dtype=spec.check_dtype, no_mutation=spec.no_mutation)
            return

        def proxy(*args, **kwargs):
            return session.ensure(all_names).call(fn_name, args, kwargs, label=f"calling {fn_name}")

        proxy.__name__ = fn_name
        check(proxy)


def grade_submission(path: str | os.PathLike, assignment: str, config: GradingConfig = GradingConfig(),
                     student: str | None = None) -> Result:
    """Grade one submitted notebook.  Never raises for anything in the submission: an
    unreadable file or a crashing notebook gives zeros with reasons in the result."""
    path = Path(path)
    return grade_cells(lambda: _repair.read_cells(path), assignment, config,
                       student or _student_of(path, assignment), str(path))


def grade_cells(read: Callable[[], list], assignment: str, config: GradingConfig, student: str,
                path: str = "") -> Result:
    """:func:`grade_submission` for cells given by ``read()`` (which may raise
    ``repair.Unreadable``); used by the nbgrader preprocessor on an in-memory notebook."""
    import nbformat

    t0 = time.monotonic()
    result = Result(student=student, assignment=assignment, path=path)
    module = importlib.import_module(f"course_lib.grading.{assignment}")
    pol = POLICY.get(assignment, {"modules": ["course_lib.grading"], "names": []})

    def zero_all(reason: str):
        for cid, pts in module.CHECKS.items():
            result.parts[cid] = PartResult(cid, float(pts), 0.0, reason)

    release = nbformat.read(config.release_path(assignment), as_version=4)
    try:
        rep = _repair.repair_cells(read(), release)
    except _repair.Unreadable as err:
        result.error = str(err)
        zero_all(f"not graded: {err}")
        result.seconds = time.monotonic() - t0
        return _cleaned(result)
    result.notes.extend(rep.notes)
    result.notebook = nbformat.writes(rep.nb)

    # Static inspection of the student's own cells (answers and added cells).
    fn_names = sorted(set(module.FUNCTIONS.values()))
    answer_src = {}
    for cell in rep.nb.cells:
        if _repair.is_answer_cell(cell) and cell.cell_type == "code":
            for n in _repair.defined_names(cell.source):
                answer_src.setdefault(n, []).append(cell.source)
    banned: dict[str, list[str]] = {}
    for cell in rep.nb.cells:
        student_cell = _repair.is_answer_cell(cell) or cell.metadata.get("opt4dl", {}).get("added")
        if cell.cell_type != "code" or not student_cell:
            continue
        found = static_violations(_static_source(cell.source), pol.get("modules", []), pol.get("names", []))
        if not found:
            continue
        defined = set(_repair.defined_names(cell.source)) & set(fn_names)
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

    session = _Session(config, assignment, _cells_to_run(rep.nb), result)
    try:
        for check_id, points in module.CHECKS.items():
            fn_name = module.FUNCTIONS[check_id]
            if fn_name in banned:
                result.parts[check_id] = PartResult(
                    check_id, float(points), 0.0,
                    f"{fn_name} scores 0 for {check_id}: it must be your own code, but it "
                    + "; ".join(banned[fn_name][:3]))
                continue
            result.parts[check_id] = _grade_part(module, check_id, float(points), fn_name, session, config,
                                                 pol, fn_names)
    finally:
        session.close()
    result.seconds = time.monotonic() - t0
    return _cleaned(result)


def _cleaned(result: Result) -> Result:
    """Every text of the result that student code could have written, made safe to show
    (:mod:`.text`): feedback, logs and the gradebook get no surrogates, control characters
    or unbounded lengths."""
    for part in result.parts.values():
        part.message = text.clean(part.message)
    result.notes = [text.clean(n) for n in result.notes[:50]]
    result.cell_errors = {text.clean(k, 200): text.clean(v) for k, v in list(result.cell_errors.items())[:50]}
    result.error = None if result.error is None else text.clean(result.error)
    return result


def _grade_part(module, check_id, points, fn_name, session, config, pol, fn_names) -> PartResult:
    try:
        session.ensure(fn_names)
    except _sandbox.SandboxFault as fault:
        return PartResult(check_id, points, 0.0, f"{fn_name} could not be run: {fault}")
    kind = session.names.get(fn_name, "missing")
    if kind == "missing":
        return PartResult(check_id, points, 0.0, f"{fn_name} is not defined in the notebook.")
    if kind != "callable":
        return PartResult(check_id, points, 0.0, f"{fn_name} is not a function (got {kind}); define it above.")
    for hidden, part in ((False, f"check_{check_id}"), (True, f"check_{check_id}_hidden")):
        try:
            _run_part(module, part, fn_name, session, hidden, config.seed, pol.get("drivers"), fn_names)
        except core.CheckFailed as err:
            return PartResult(check_id, points, 0.0, str(err))
        except _sandbox.SandboxFault as fault:
            return PartResult(check_id, points, 0.0, f"{fn_name}: {fault}")
        except _sandbox.SandboxUnavailable:
            raise  # the grader's problem, not the submission's: stop with the reason
        except Exception as err:  # noqa: BLE001 - a value the check cannot handle: fail this part only
            return PartResult(check_id, points, 0.0,
                              f"{fn_name} could not be checked ({type(err).__name__}: {str(err)[:300]})")
    return PartResult(check_id, points, points, "")


def _student_of(path: Path, assignment: str) -> str:
    # grading/submitted/<student>/<assignment>/<assignment>.ipynb
    if path.parent.name == assignment and path.parent.parent.name:
        return path.parent.parent.name
    return path.stem


# ----------------------------------------------------------------------------- many submissions


class Executor(Protocol):
    """What :func:`grade_many` needs: ``concurrent.futures.Executor.submit``.  Satisfied by
    ``ProcessPoolExecutor`` and by Dask's ``distributed.Client(...).get_executor()``."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future: ...


def failed_result(student: str, assignment: str, path: str, reason: str) -> Result:
    """Zero on every part with ``reason``: a submission the grader itself failed on."""
    r = Result(student=student, assignment=assignment, path=str(path), grader_fault=True,
               error=text.clean(reason))
    module = importlib.import_module(f"course_lib.grading.{assignment}")
    for cid, pts in module.CHECKS.items():
        r.parts[cid] = PartResult(cid, float(pts), 0.0, r.error)
    return r


def _safe_grade(path, assignment, config, student):
    try:
        return grade_submission(path, assignment, config, student)
    except _sandbox.SandboxUnavailable:
        raise  # nothing can be graded here: stop with the reason
    except Exception as err:  # noqa: BLE001 - a grader fault stays with its submission
        return failed_result(student, assignment, str(path),
                             f"internal grading error: {type(err).__name__}: {text.clean(err, 300)}")


def grade_many(items: Iterable[tuple[str, str | os.PathLike]], assignment: str,
               config: GradingConfig = GradingConfig(), *, jobs: int = 1,
               executor: Executor | None = None,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Grade ``(student, path)`` pairs; results in input order.  ``executor`` (any
    ``submit``-style executor) runs :func:`grade_submission` elsewhere; otherwise ``jobs``
    local processes (``jobs=1``: in this process).  Each sandbox is a further process.
    ``on_result`` is called with each result as soon as it and those before it are done."""
    items = [(s, str(p)) for s, p in items]
    done = on_result or (lambda r: None)
    if executor is None and jobs <= 1:
        out = []
        for s, p in items:
            out.append(_safe_grade(p, assignment, config, s))
            done(out[-1])
        return out
    own = None
    if executor is None:
        import multiprocessing as mp

        # fork: a worker starts at once with this process's modules (a spawned one spends
        # about 2 s importing nbformat, which is most of the gain for a class of 40).
        # spawn once torch is loaded: forking its thread pools can hang the children.
        method = "fork" if sys.platform == "linux" and "torch" not in sys.modules else "spawn"
        if method == "fork":
            import nbformat  # noqa: F401 - imported once here, inherited by every worker
        own = executor = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context(method))
    try:
        futures = [executor.submit(_safe_grade, p, assignment, config, s) for s, p in items]
        out = []
        for (s, p), fut in zip(items, futures):
            try:
                out.append(fut.result())
            except Exception as err:  # noqa: BLE001 - a lost worker costs only its submission
                out.append(Result(student=s, assignment=assignment, path=p, grader_fault=True,
                                  error=f"grading worker failed: {type(err).__name__}: {err}"))
            done(out[-1])
        return out
    finally:
        if own is not None:
            own.shutdown()


def submission_path(root: str | os.PathLike, student: str, assignment: str) -> Path:
    """Where nbgrader keeps a submission (nbgrader_config.py's layout)."""
    return Path(root) / "grading" / "submitted" / student / assignment / f"{assignment}.ipynb"


def find_submissions(root: str | os.PathLike, assignment: str) -> list[tuple[str, Path]]:
    """``(student, path)`` for every ``<root>/grading/submitted/<student>/<A>/<A>.ipynb``."""
    base = Path(root) / "grading" / "submitted"
    return sorted((p.parent.parent.name, p) for p in base.glob(f"*/{assignment}/{assignment}.ipynb"))


# ----------------------------------------------------------------------------- result cache
# tools/grade.py grades every submission in N worker processes (or on a Dask cluster) and
# stores each result here; nbgrader's autograde, driven in that process through its API,
# then records each one and SandboxedAutograde takes the stored result instead of grading
# again.  nbgrader stays the only writer of the gradebook (no SQLite lock errors, no lost
# rows) and does all of its own bookkeeping (late penalties, comments, manual grading).


def result_key(submission: str | os.PathLike, assignment: str, config: GradingConfig) -> str:
    """Everything a result depends on: the submitted file, the release, the grading code
    (checks, runner, sandbox), the seed and the limits.  A change to any of them (a fixed
    check, a resubmission) makes a stored result stale."""
    import hashlib

    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    files = [Path(submission), config.release_path(assignment), here / f"{assignment}.py",
             here / "core.py", here / "repair.py", here / "runner.py", here / "sandbox.py"]
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


def pregrade(root: str | os.PathLike, assignment: str, jobs: int, *,
             executor: Executor | None = None, config: GradingConfig | None = None,
             on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Grade every submission of ``assignment`` under ``root`` with ``jobs`` workers (or
    ``executor``) and store the results for nbgrader's autograde; ``on_result(result)`` is
    called after each one is stored, in order (tools/grade.py records it in the gradebook)."""
    config = config or GradingConfig(root=str(root), seed=grading_seed(root))
    items = find_submissions(root, assignment)
    paths = dict(items)

    def store(r: Result) -> None:
        if not r.grader_fault:  # left to nbgrader's autograde, which grades it itself
            store_result(r, result_key(paths[r.student], assignment, config), root)
        if on_result is not None:
            on_result(r)

    return grade_many(items, assignment, config, jobs=jobs, executor=executor, on_result=store)


# ----------------------------------------------------------------------------- the autograded notebook


def autograded_notebook(result: Result, release_path: str | os.PathLike):
    """The notebook nbgrader's feedback and formgrader read: the repaired submission (or, if
    unreadable, the release) whose test cells show the verdicts as outputs.  Hidden tests are
    not in it: test cells keep their released (visible) source."""
    import nbformat

    nb = nbformat.reads(result.notebook, as_version=4) if result.notebook else \
        nbformat.read(release_path, as_version=4)
    text.clean_tree(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (_repair.is_answer_cell(cell)
                                              or cell.metadata.get("opt4dl", {}).get("added")):
            cell.source = text.no_html(cell.source)  # the student's own markdown: no live HTML
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        part = result.parts.get(gid) if _repair.is_test_cell(cell) else None
        if part is None:
            continue
        if part.score < part.points:
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="CheckFailed", evalue=part.message or "failed",
                traceback=[f"CheckFailed: {part.message or 'failed'}"]))
        else:
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="passed\n"))
    if result.error or result.notes:
        lines = [text.no_html(text.clean(x)) for x in ([result.error] if result.error else []) + result.notes]
        nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(["**Grading notes**", ""]
                                                                    + [f"* {x}" for x in lines])))
    return nb
