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

import concurrent.futures as cf
import contextlib
import dataclasses
import importlib
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from . import core, policy, repair as _repair, sandbox as _sandbox, text
from .policy import POLICY
from .results import PartResult, Result, result_key, store_result

__all__ = ["GradingConfig", "grade_submission", "grade_cells", "grade_many", "pregrade", "grading_seed",
           "Executor", "limited", "failed_result", "find_submissions", "submission_path",
           "autograded_notebook", "safe_student_markdown", "DEFAULT_TEST_SEED"]

DEFAULT_TEST_SEED = 20240601
SEED_ENV = "OPT4DL_GRADING_SEED"

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
        path.write_text(f"{secrets.randbits(128)}\n")  # beyond any brute-force search
        os.chmod(path, 0o600)
    return int(path.read_text().strip())


@dataclasses.dataclass(frozen=True)
class GradingConfig:
    """Everything :func:`grade_submission` needs besides the submission (picklable, so it
    can travel to another process or machine).  ``limits``: the sandbox's limits (their one
    definition, :class:`sandbox.SandboxConfig`); ``release``: the released notebook (default
    ``<root>/assignments/<id>/<id>.ipynb``); ``hidden``: extra paths masked in the sandbox
    should a mount contain them."""

    root: str = str(Path(__file__).resolve().parents[2])
    seed: int = DEFAULT_TEST_SEED
    release: str | None = None
    limits: _sandbox.SandboxConfig = _sandbox.SandboxConfig()
    submission_timeout: float = _sandbox.setting(
        900.0, "wall-clock seconds for everything one submission runs (cells, calls, restarts)")
    hidden: tuple = ()
    max_restarts: int = 8

    def release_path(self, assignment: str) -> Path:
        return Path(self.release or Path(self.root) / "assignments" / assignment / f"{assignment}.ipynb")

    def sandbox_config(self, assignment: str | None = None) -> _sandbox.SandboxConfig:
        hidden = tuple(dict.fromkeys(_sandbox.default_hidden(self.root) + _sandbox.default_hidden()
                                     + tuple(self.hidden)))
        packages = POLICY.get(assignment, {}).get("packages", policy.NUMPY_PACKAGES)
        return dataclasses.replace(self.limits, hidden=hidden, packages=tuple(packages))


def limited(**limits) -> _sandbox.SandboxConfig:
    """``SandboxConfig(**limits)``: the limits of :class:`GradingConfig`, for short."""
    return _sandbox.SandboxConfig(**limits)


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
                        f"not {policy.REFERENCE}",
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


def _run_part(check: Callable, fn_name: str, session: _Session, hidden: bool, seed: int,
              drivers: str | None, all_names: list[str]) -> None:
    """Run one check function (the visible or hidden part of a :class:`core.Check`) against
    the sandboxed ``fn_name``; raises core.CheckFailed with the feedback when it fails.
    Hidden cases are drawn with the instructor's seed (:func:`core.hidden_seed`)."""
    spec = getattr(check, "spec", None)
    key = _driver_name(drivers, spec.driver) if drivers and spec is not None and spec.driver else None
    with core.hidden_seed(seed) if hidden else contextlib.nullcontext():
        if key is not None:  # the driver builds objects: run it in the sandbox, compare here
            cases = spec.cases() if callable(spec.cases) else list(spec.cases)

            def remote_driver(*args, **kwargs):
                return session.ensure(all_names).drive(key, fn_name, args, kwargs, label=f"running {fn_name}")

            core.check_cases(remote_driver, spec.wrap(spec.reference), cases, name=spec.name,
                             tol=spec.tol, variants=spec.variants, select=spec.select,
                             check_dtype=spec.check_dtype, no_mutation=spec.no_mutation, values=spec.values)
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
        for check in module.GRADED:
            result.parts[check.id] = PartResult(check.id, float(check.points), 0.0, reason)

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

    fn_names = sorted({check.function for check in module.GRADED})
    banned = policy.violations(rep.nb, assignment, fn_names)

    session = _Session(config, assignment, _cells_to_run(rep.nb), result)
    try:
        for check in module.GRADED:
            if check.function in banned:
                result.parts[check.id] = PartResult(
                    check.id, float(check.points), 0.0,
                    f"{check.function} scores 0 for {check.id}: it must be your own code, but "
                    + "; ".join(banned[check.function][:3]))
                continue
            result.parts[check.id] = _grade_part(check, session, config, pol, fn_names)
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


def _grade_part(check: core.Check, session: _Session, config: GradingConfig, pol: dict,
                fn_names: list[str]) -> PartResult:
    check_id, points, fn_name = check.id, float(check.points), check.function
    try:
        session.ensure(fn_names)
    except _sandbox.SandboxFault as fault:
        return PartResult(check_id, points, 0.0, f"{fn_name} could not be run: {fault}")
    kind = session.names.get(fn_name, "missing")
    if kind == "missing":
        return PartResult(check_id, points, 0.0, f"{fn_name} is not defined in the notebook.")
    if kind != "callable":
        return PartResult(check_id, points, 0.0, f"{fn_name} is not a function (got {kind}); define it above.")
    for hidden, part in ((False, check.visible), (True, check.hidden)):
        try:
            _run_part(part, fn_name, session, hidden, config.seed, pol.get("drivers"), fn_names)
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
    for check in module.GRADED:
        r.parts[check.id] = PartResult(check.id, float(check.points), 0.0, r.error)
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


def safe_student_markdown(nb):
    """Clean every string of the notebook (:func:`text.clean_tree`) and make the student's
    own markdown (answer cells and added cells) safe to show (:func:`text.safe_markdown`),
    within a budget for all of it together; the release's cells are the instructor's."""
    text.clean_tree(nb)
    left = text.MARKDOWN_TOTAL
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (_repair.is_answer_cell(cell)
                                              or cell.metadata.get("opt4dl", {}).get("added")):
            cell.source = text.safe_markdown(cell.source, max(0, min(text.MARKDOWN_CELL, left)))
            left -= len(cell.source)
    return nb


def autograded_notebook(result: Result, release_path: str | os.PathLike):
    """The notebook nbgrader's feedback and formgrader read: the repaired submission (or, if
    unreadable, the release) whose test cells show the verdicts as outputs.  Hidden tests are
    not in it: test cells keep their released (visible) source."""
    import nbformat

    nb = nbformat.reads(result.notebook, as_version=4) if result.notebook else \
        nbformat.read(release_path, as_version=4)
    safe_student_markdown(nb)
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
        lines = [text.safe_markdown(x) for x in ([result.error] if result.error else []) + result.notes]
        nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(["**Grading notes**", ""]
                                                                    + [f"* {x}" for x in lines])))
    return nb
