"""Run a submission's code in a separate, confined process (the *sandbox*).

The trusted grader (:mod:`course_lib.grading.runner`) never executes student code itself.
It starts one worker (:mod:`.worker`) per submission, sends it the notebook's code cells,
and then calls the graded functions there on inputs it chose; only the returned values and
the arguments as they are after the call come back (:mod:`.protocol`).  The grader computes
the reference and compares, so nothing the student's code does inside the worker can change
a verdict except by returning correct values.

The boundary (INSTRUCTORS.md, "Threat model", ties each promise to a test):

* **An allow-list file system** (bubblewrap): an empty root with, read-only, the system
  libraries (``/usr``), the interpreter, the installed distributions the assignment allows
  (``SandboxConfig.packages`` and what they require), and the student view of
  ``course_lib`` (:mod:`.student_view`: no references, checks or grader).  Nothing else of the
  host exists there: not the checkout, not home directories, not ``/etc``.  ``/tmp`` (the
  working directory) and ``/dev/shm`` are private tmpfs of a fixed size.  No network, its own
  PID, IPC and UTS namespaces.
* **An unprivileged host uid.**  Run as root, the sandbox is set up with root's privileges
  and the worker then drops to uid/gid 65534 (``setpriv``, no capabilities, no new
  privileges), so that files are checked against an unprivileged owner.  Run as another
  user, bubblewrap uses a user namespace and the worker keeps that user's uid (give grading
  a dedicated account: INSTRUCTORS.md).
* **Budgets for the whole submission**: a control group per sandbox (:mod:`.limits`) with a
  memory limit (tmpfs included) and a process limit, or ``RLIMIT_NPROC`` where no cgroup can
  be made; per process ``RLIMIT_AS``, ``RLIMIT_CPU``, ``RLIMIT_FSIZE``, no core dumps; a time
  limit per cell and per call enforced from here (``SIGKILL`` of the whole group).
* **A protocol that cannot stall the grader**: non-blocking pipes with a deadline on every
  read and write, message sizes checked before allocation.

Without a working bubblewrap, :meth:`Sandbox.start` refuses (:class:`SandboxUnavailable`,
with the reason) unless the configuration says ``unsafe=True``, the instructor's explicit
choice to run student code with rlimits only.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.metadata as metadata
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import psutil

from . import limits, student_view
from .protocol import (Opaque, ProtocolError, _dict, arrays_of, decode, encode, recv, resolve_path,
                       send, write_back)

__all__ = ["SandboxConfig", "Sandbox", "SandboxFault", "SandboxUnavailable", "RemoteError",
           "ProtocolError", "Opaque", "encode", "decode", "sandbox_problem", "default_hidden",
           "NOBODY"]

#: the unprivileged uid and gid the worker runs as when the grader is root
NOBODY = 65534
#: where the student view of course_lib appears inside the sandbox
VIEW = "/opt4dl"
#: the most bytes of arrays a callback into the grader may pass (the checks' callbacks take
#: a parameter vector of a few dozen numbers)
CALLBACK_BYTES = 1 << 20


class SandboxFault(Exception):
    """The worker died, ran past its time limit or broke the protocol; ``str`` says which."""


class SandboxUnavailable(RuntimeError):
    """No confinement is possible here (no bubblewrap, or it cannot create its namespaces)
    and the configuration does not allow running student code without it."""


class RemoteError(Exception):
    """An exception raised by the submission's code inside the worker."""


def _descendants(root: int) -> list[int]:
    """``root`` and every live process below it (bwrap, its PID-namespace init, the worker
    and anything the student's code started)."""
    try:
        proc = psutil.Process(root)
        return [root] + [p.pid for p in proc.children(recursive=True)]
    except psutil.Error:
        return []


def _processes_of(uid: int) -> int:
    """How many processes the user ``uid`` has now."""
    count = 0
    for proc in psutil.process_iter(["uids"]):
        try:
            count += proc.info["uids"] is not None and proc.info["uids"].real == uid
        except psutil.Error:
            pass
    return count


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` have used so far."""
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:  # gone, or not ours to read
            pass
    return total


class _Budget:
    """The time left to one request.  It runs out when BOTH the wall-clock time and the CPU
    time of the worker's process tree pass ``limit`` (a grader slowed down by other work, or
    by grading in parallel, must not fail correct code), or when the wall-clock time passes
    ``wall_factor * limit`` (code that sleeps or blocks uses no CPU)."""

    def __init__(self, limit: float, wall_factor: float, cpu: Callable[[bool], float] | None):
        self.limit, self.cpu = limit, cpu
        self.t0 = time.monotonic()
        self.hard = self.t0 + max(wall_factor, 1.0) * limit
        self.cpu0 = cpu(False) if cpu is not None else 0.0
        self.reason = "wall"

    def left(self) -> float:
        now = time.monotonic()
        if now < self.t0 + self.limit:
            return self.t0 + self.limit - now
        if now >= self.hard:
            self.reason = "wall"
            return 0.0
        if self.cpu is None:
            return 0.0
        cpu_left = self.limit - (self.cpu(True) - self.cpu0)
        if cpu_left <= 0:
            self.reason = "cpu"
            return 0.0
        return min(cpu_left, self.hard - now)


def default_hidden(root: str | os.PathLike | None = None) -> tuple:
    """The course's secrets under ``root`` (default: this checkout): ``grading/`` (gradebook,
    submissions, the grading seed), ``solutions/``, ``.git`` and the checkout's own
    ``course_lib`` (the student view replaces it).  They are masked only where a mounted
    folder contains them (for example a checkout under ``/usr``)."""
    root = Path(root) if root else Path(__file__).resolve().parents[2]
    return tuple(str(root / d) for d in ("grading", "solutions", ".git", "course_lib"))


def setting(default, help: str):
    """A limit an instructor may change: its one definition (default and meaning).
    ``nbgrader_adapter.SandboxedAutograde`` exposes every such field as a traitlets setting
    (``c.SandboxedAutograde.<name>`` in nbgrader_config.py)."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    """Limits of one worker (picklable: it travels to grading workers and Dask).  Fields
    made with :func:`setting` are the instructor's settings; ``packages`` and ``hidden`` are
    set per assignment by the runner."""

    cell_timeout: float = setting(60.0, "seconds one notebook cell may compute")
    call_timeout: float = setting(20.0, "seconds one call of a graded function may compute")
    cpu_seconds: int = setting(600, "CPU seconds per process of a submission")
    memory_bytes: int = setting(6 << 30, "bytes of memory for a submission (all of its processes, "
                                         "its /tmp included, where cgroups allow; else per process)")
    file_bytes: int = setting(64 << 20, "largest file a submission may write, in bytes")
    tmp_bytes: int = setting(256 << 20, "size of the submission's /tmp (its working folder), in bytes")
    shm_bytes: int = setting(64 << 20, "size of the submission's /dev/shm, in bytes")
    max_pids: int = setting(64, "processes and threads a submission may have at once")
    unsafe: bool = setting(False, "run student code even where the sandbox cannot run (rlimits "
                                  "only; tools/grade.py grade --unsafe)")
    packages: tuple = ("numpy", "matplotlib", "ipython")
    hidden: tuple = dataclasses.field(default_factory=lambda: default_hidden())
    startup_timeout: float = 60.0
    #: a cell or call is stopped once it has used ``*_timeout`` seconds of both wall-clock
    #: and CPU time, or ``wall_factor`` times that in wall-clock time alone.
    wall_factor: float = 3.0


# ----------------------------------------------------------------------------- the file system


def _requirement_names(dist) -> list[str]:
    out = []
    for req in dist.requires or []:
        if "extra ==" in req:  # optional extras are not part of what the package needs
            continue
        name = req.split(";")[0].strip()
        for stop in "<>=!~[( ":
            name = name.split(stop)[0]
        if name:
            out.append(name)
    return out


@functools.lru_cache(maxsize=None)
def _distribution_paths(packages: tuple) -> tuple[str, ...]:
    """The top-level files and folders, in their site-packages folder, of the distributions
    ``packages`` and of everything they require (installed ones only)."""
    seen, todo, paths = set(), list(packages), set()
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_requirement_names(dist))
        base = Path(dist.locate_file("")).resolve()
        for f in dist.files or []:
            parts = Path(str(f)).parts
            if not parts or parts[0] == ".." or parts[0].endswith(".pth"):
                continue
            top = base / parts[0]
            if top.exists():
                paths.add(str(top))
        paths.add(str(Path(dist._path).resolve()))  # its .dist-info (metadata.version() needs it)
    return tuple(sorted(paths))


def _interpreter() -> tuple[str, list[str]]:
    """The real interpreter binary and the folders it needs (its prefix: the standard
    library and, for a shared build, libpython)."""
    exe = str(Path(sys.executable).resolve())
    prefixes = {str(Path(sys.base_prefix).resolve())}
    if not exe.startswith(tuple(p + "/" for p in prefixes)):
        prefixes.add(str(Path(exe).parent))
    return exe, sorted(prefixes)


def _site_dirs(paths) -> list[str]:
    return sorted({str(Path(p).parent) for p in paths})


def _mkdirs(path: str, made: set) -> list[str]:
    """``--dir`` for every missing ancestor of ``path``, traversable by the worker's uid
    (bubblewrap would create them 0700 root)."""
    out = []
    parts = Path(path).parts
    for i in range(2, len(parts)):
        d = str(Path(*parts[:i]))
        if d not in made:
            made.add(d)
            out += ["--perms", "0755", "--dir", d]
    return out


def _is_under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _package_dirs(roots) -> list[str]:
    """The site-packages and dist-packages folders below the mounted ``roots`` (the
    interpreter's prefix, /usr, /usr/local)."""
    import glob

    found = set()
    for root in roots:
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages",
                        "local/lib/python3*/site-packages", "local/lib/python3*/dist-packages"):
            found |= {str(Path(p).resolve()) for p in glob.glob(os.path.join(root, pattern)) if os.path.isdir(p)}
    return sorted(found)


def bwrap_argv(config: SandboxConfig, view: str, privileged: bool) -> list[str]:
    """bubblewrap's arguments, up to and including ``--``: the allow-list file system."""
    exe, prefixes = _interpreter()
    dists = _distribution_paths(tuple(config.packages))
    # The sized tmpfs first, so that mounts below /tmp (a fresh clone often lives there)
    # stay visible on top of it.
    args = ["--perms", "1777", "--size", str(config.tmp_bytes), "--tmpfs", "/tmp",
            "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    made = {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/tmp", "/dev", "/proc"}
    mounted = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
    for p in prefixes:
        if not _is_under(p, mounted):
            args += _mkdirs(p, made) + ["--ro-bind", p, p]
            mounted.append(p)
    # Every package folder of the system and of the interpreter is emptied (torch installed
    # system-wide must not be importable in a NumPy assignment), then only the allowed
    # distributions are put back, on top.
    masked = _package_dirs(mounted)
    for p in masked:
        args += ["--tmpfs", p]
    for p in dists:
        if _is_under(p, masked) or not _is_under(p, mounted):
            args += _mkdirs(p, made) + ["--ro-bind", p, p]
            mounted.append(p)
    args += ["--perms", "0755", "--dir", VIEW, "--ro-bind", view, VIEW]
    # A secret inside a mounted folder (a checkout under /usr, course_lib installed into
    # site-packages) is covered by an empty folder: masks come after the mounts.
    for p in config.hidden:
        if _is_under(p, mounted) and os.path.exists(p):
            args += ["--tmpfs", p] if os.path.isdir(p) else ["--ro-bind", "/dev/null", p]
    for p in _site_dirs(dists):
        cl = os.path.join(p, "course_lib")
        if os.path.exists(cl):
            args += ["--tmpfs", cl]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(config.shm_bytes), "--tmpfs", "/dev/shm",
             "--chdir", "/tmp", "--new-session", "--die-with-parent"]
    if privileged:  # root sets up the namespaces; the worker drops to NOBODY below
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    else:  # an unprivileged user: a user namespace, no capabilities in it
        args += ["--unshare-all", "--uid", str(NOBODY), "--gid", str(NOBODY), "--cap-drop", "ALL"]
    return args + ["--"]


def _drop_privileges() -> list[str]:
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


def _privileged() -> bool:
    return os.geteuid() == 0


def _command(config: SandboxConfig, program: list[str]) -> list[str]:
    bwrap = shutil.which("bwrap")
    privileged = _privileged()
    return [bwrap, *bwrap_argv(config, str(student_view.path()), privileged),
            *(_drop_privileges() if privileged else []), *program]


_PROBED: dict = {}


def sandbox_problem(config: SandboxConfig | None = None) -> str | None:
    """Why student code cannot be confined here (None: it can).  Probes the real command
    once per process and configuration: the reason is bubblewrap's own message."""
    config = config or SandboxConfig()
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap"
    if _privileged() and not (shutil.which("setpriv") or os.path.exists("/usr/bin/setpriv")):
        return "setpriv (util-linux) is missing: the worker cannot drop root's privileges"
    key = (config.packages, config.hidden, _privileged())
    if key not in _PROBED:
        exe, _ = _interpreter()
        try:
            proc = subprocess.run(_command(config, [exe, "-S", "-c", "import sys"]),
                                  capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            _PROBED[key] = None if proc.returncode == 0 else (
                f"bubblewrap could not start the sandbox (exit {proc.returncode}): "
                + proc.stderr.decode("utf-8", "replace").strip()[-500:])
        except (OSError, subprocess.SubprocessError) as err:
            _PROBED[key] = f"bubblewrap could not start the sandbox: {err}"
    return _PROBED[key]


def _describe_exit(code: int | None, isolated: bool = False, oom: bool = False) -> str:
    if oom:
        return "the submission used more memory than its budget and was killed"
    if code is None:
        return "the process stopped answering"
    if isolated and 128 < code < 128 + 65:
        code = 128 - code  # bwrap reports a child killed by signal s as 128 + s
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        meaning = {
            "SIGSEGV": "segmentation fault", "SIGKILL": "killed, e.g. for memory or CPU time",
            "SIGXCPU": "CPU time limit exceeded", "SIGABRT": "aborted", "SIGBUS": "bus error",
            "SIGFPE": "arithmetic fault", "SIGXFSZ": "file size limit exceeded",
        }.get(name, "signal")
        return f"the process was killed by {name} ({meaning})"
    return f"the process exited with status {code} (sys.exit/os._exit or a fatal error)"


_WARNED = False


def _warn_unsafe() -> None:
    global _WARNED
    if not _WARNED:
        sys.stderr.write("\n" + "!" * 78 + "\n!! UNSAFE: student code runs WITHOUT the sandbox "
                         "(only rlimits apply), as requested.\n" + "!" * 78 + "\n")
        _WARNED = True
    warnings.warn("grading without the sandbox (unsafe=True)", RuntimeWarning, stacklevel=3)


class Sandbox:
    """One worker process.  Use as a context manager; every method raises
    :class:`SandboxFault` when the worker dies or times out (the worker is then gone and
    :attr:`alive` is False)."""

    def __init__(self, config: SandboxConfig = SandboxConfig()):
        self.config = config
        self.proc: subprocess.Popen | None = None
        self.isolated = False
        self.cgroup: limits.Cgroup | None = None
        self._r = self._w = -1
        self._pids: list[int] = []

    def _cpu_seconds(self, rescan: bool) -> float:
        """CPU seconds used so far by the worker's process tree; ``rescan`` also finds
        processes started since the last scan (done only once a request has outlived its
        wall-clock limit)."""
        if self.proc is None:
            return 0.0
        if rescan or not self._pids:
            self._pids = self.cgroup.pids() if self.cgroup else _descendants(self.proc.pid)
        return _cpu_of(self._pids)

    # -- life cycle

    def start(self) -> "Sandbox":
        cfg = self.config
        problem = None if cfg.unsafe else sandbox_problem(cfg)
        if problem:
            raise SandboxUnavailable(f"{problem}. Student code is not run without the sandbox; "
                                     "pass --unsafe (tools/grade.py) to grade with rlimits only.")
        if cfg.unsafe:
            _warn_unsafe()
        self.isolated = not cfg.unsafe
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        view = VIEW if self.isolated else str(student_view.path())
        site = _site_dirs(_distribution_paths(tuple(cfg.packages)))
        exe, _ = _interpreter()
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
            "PYTHONPATH": os.pathsep.join([view, *site]), "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp", "LANG": "C.UTF-8",
        }
        program = [exe, "-S", "-u", "-m", "course_lib.grading.worker", str(to_child_r), str(from_child_w)]
        cwd = "/"
        if self.isolated:
            cmd = _command(cfg, program)
        else:  # unsafe: a private working folder at least
            import tempfile

            self._unsafe_dir = cwd = env["HOME"] = env["TMPDIR"] = env["MPLCONFIGDIR"] = \
                tempfile.mkdtemp(prefix="opt4dl-unsafe-")
            cmd = program
        self.cgroup = limits.create(cfg.memory_bytes, cfg.max_pids)
        cgroup = self.cgroup
        # Without a cgroup, RLIMIT_NPROC bounds the processes of the worker's uid: only
        # sandboxes run as NOBODY (grading as root); as another user, that user's own
        # processes count too, so the limit starts from how many there are now.
        nproc = None
        if cgroup is None:
            nproc = cfg.max_pids * 8 + (0 if os.geteuid() == 0 and self.isolated else _processes_of(os.getuid()))

        def in_child():
            import resource

            if cgroup is not None:
                cgroup.enter()
            elif nproc is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            resource.setrlimit(resource.RLIMIT_CPU, (cfg.cpu_seconds, cfg.cpu_seconds + 5))
            resource.setrlimit(resource.RLIMIT_AS, (cfg.memory_bytes, cfg.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (cfg.file_bytes, cfg.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            try:  # die with the grader (Linux); bwrap adds --die-with-parent on its own
                import ctypes

                ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            except Exception:  # noqa: BLE001 - not Linux: the timeouts still apply
                pass

        try:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(to_child_r, from_child_w), start_new_session=True,
                preexec_fn=in_child)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._w, self._r = to_child_w, from_child_r
        os.set_blocking(self._w, False)  # a worker that stops reading cannot block us
        os.set_blocking(self._r, False)
        reply = self._request({"op": "hello"}, timeout=cfg.startup_timeout, what="starting")
        if reply[0].get("op") != "ready":
            self._fault("the worker did not start")
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _kill(self) -> None:
        if self.cgroup is not None:
            self.cgroup.kill()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        if self.proc is not None:
            self._kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        for fd in (self._r, self._w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._r = self._w = -1
        if self.cgroup is not None:
            self.cgroup.close()
            self.cgroup = None
        if getattr(self, "_unsafe_dir", None):
            shutil.rmtree(self._unsafe_dir, ignore_errors=True)
            self._unsafe_dir = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing

    def _fault(self, reason: str, *, dead: bool = False):
        code = None
        if self.proc is not None and dead:
            try:  # it ended on its own: its exit status says how
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        oom = self.cgroup is not None and self.cgroup.out_of_memory()
        if self.proc is not None and code is None:
            self._kill()
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = None
        self.close()
        raise SandboxFault(reason.format(exit=_describe_exit(code, self.isolated, oom)))

    def _request(self, header: dict, buffers: list = (), *, timeout: float, what: str,
                 on_callback: Callable | None = None) -> tuple[dict, list]:
        if not self.alive:
            raise SandboxFault("the sandbox is not running")
        clock = self._cpu_seconds if os.path.isdir("/proc/self") else None
        budget = _Budget(timeout, self.config.wall_factor, clock)
        try:
            send(self._w, header, buffers, budget)
            while True:
                reply, bufs = recv(self._r, budget)
                if reply.get("op") == "cb" and on_callback is not None:
                    on_callback(reply, bufs, budget)
                    continue
                return reply, bufs
        except TimeoutError:
            if budget.reason == "cpu":
                self._fault(f"{what} took longer than {timeout:g} s (time limit) and was stopped")
            self._fault(f"{what} took longer than {budget.hard - budget.t0:g} s of waiting "
                        f"(time limit) and was stopped")
        except (EOFError, BrokenPipeError, ConnectionError):
            self._fault(f"{what} ended the grading process: {{exit}}", dead=True)
        except ProtocolError as err:
            self._fault(f"{what} broke the grading protocol ({err}); the process was stopped")
        raise AssertionError("unreachable")

    # -- operations

    def setup(self, *, forbidden: list[str], poison: list[tuple[str, str]], reason: str,
              drivers: str | None = None) -> None:
        """Make ``forbidden`` module prefixes unimportable, neutralise ``poison`` =
        [(module, attribute or "*")], and (``drivers``) load that module's ``DRIVERS``."""
        reply, _ = self._request({"op": "setup", "forbidden": forbidden, "poison": [list(p) for p in poison],
                                  "reason": reason, "drivers": drivers},
                                 timeout=self.config.startup_timeout, what="setting up the sandbox")
        if reply.get("op") != "ok":
            raise SandboxFault(f"sandbox set-up failed: {str(reply.get('msg'))[:500]}")

    def exec_cell(self, source: str, label: str) -> str | None:
        """Run one code cell; return None, or the error it raised as one line."""
        reply, _ = self._request({"op": "exec", "source": source, "label": label},
                                 timeout=self.config.cell_timeout, what=f"{label}")
        if reply.get("op") != "done":
            self._fault(f"{label}: unexpected reply; the process was stopped")
        err = reply.get("error")
        return None if err is None else str(err)[:1000]

    def lookup(self, names: list[str]) -> dict[str, str]:
        """name -> "callable", "missing" or the type name of a non-callable value."""
        reply, _ = self._request({"op": "lookup", "names": names}, timeout=self.config.call_timeout,
                                 what="looking up the graded functions")
        out = reply.get("v")
        if not isinstance(out, dict):
            self._fault("lookup: malformed reply; the process was stopped")
        return {n: str(out.get(n, "missing"))[:80] for n in names}

    def call(self, name: str, args: tuple, kwargs: dict, *, label: str | None = None) -> Any:
        """``name(*args, **kwargs)`` in the worker.  The arguments as the worker has them
        after the call are applied to ``args``/``kwargs`` (so the caller sees in-place
        changes as if the function had run here); callables in the arguments are called
        back here.  Raises :class:`RemoteError` (or ``NotImplementedError``) for an
        exception in the student's code."""
        callbacks: list = []
        tree, bufs = encode({"args": tuple(args), "kwargs": dict(kwargs)}, callbacks=callbacks)
        return self._invoke({"op": "call", "name": name, "value": tree}, bufs, args, kwargs,
                            callbacks, label or f"calling {name}")

    def drive(self, key: str, name: str, args: tuple, kwargs: dict, *, label: str | None = None) -> Any:
        """Run the driver ``key`` of the set-up drivers module on the worker's ``name``."""
        tree, bufs = encode({"args": tuple(args), "kwargs": dict(kwargs)})
        return self._invoke({"op": "drive", "key": key, "name": name, "value": tree}, bufs, args, kwargs,
                            [], label or f"running {name}")

    def _invoke(self, header, bufs, args, kwargs, callbacks, what):
        def on_callback(msg, cb_bufs, budget):
            try:
                k = msg.get("id")
                if not isinstance(k, int) or not 0 <= k < len(callbacks):
                    raise ProtocolError("unknown callback")
                payload = _dict(decode(msg.get("value"), cb_bufs))
                # The grader's functions (a test problem's gradient, say) run on these
                # arguments: small ones only, so that broadcasting cannot blow them up here.
                if sum(x.nbytes for x in arrays_of(tuple(payload.get("args", ())),
                                                   dict(payload.get("kwargs", {})))) > CALLBACK_BYTES:
                    raise ProtocolError(f"a callback's arguments are larger than {CALLBACK_BYTES} bytes")
                value = callbacks[k](*payload.get("args", ()), **payload.get("kwargs", {}))
                tree, out = encode(value)
                send(self._w, {"op": "cbret", "value": tree}, out, budget)
            except (ProtocolError, TimeoutError):
                raise
            except Exception as err:  # noqa: BLE001 - the grader's function failed on the student's input
                send(self._w, {"op": "cberr", "type": type(err).__name__, "msg": str(err)[:500]}, (), budget)

        reply, rbufs = self._request(header, bufs, timeout=self.config.call_timeout, what=what,
                                     on_callback=on_callback)
        op = reply.get("op")
        try:
            if op == "error":
                raise _remote_exception(str(reply.get("type")), str(reply.get("msg")))
            if op != "result":
                raise ProtocolError(f"unexpected reply {str(op)[:40]!r}")
            if reply.get("after") is not None:
                after = _dict(decode(reply["after"], rbufs, allow_same=True))
                new_args = after.get("args", ())
                if isinstance(new_args, tuple) and len(new_args) == len(args):
                    for a, b in zip(args, new_args):
                        write_back(a, b)
                new_kwargs = after.get("kwargs", {})
                if isinstance(new_kwargs, dict):
                    for k in kwargs:
                        if k in new_kwargs:
                            write_back(kwargs[k], new_kwargs[k])
            return decode(reply.get("value"), rbufs,
                          resolve=lambda path: resolve_path(tuple(args), kwargs, path))
        except ProtocolError as err:
            self._fault(f"{what} broke the grading protocol ({err}); the process was stopped")


def _remote_exception(type_name: str, msg: str) -> Exception:
    if type_name == "NotImplementedError":
        return NotImplementedError(msg)
    name = type_name if type_name.isidentifier() and len(type_name) <= 60 else "Error"
    # Named after the student's exception and shown without a module, so that feedback reads
    # "ValueError: ..." as it would in the notebook.
    cls = type(name, (RemoteError,), {"__module__": "builtins"})
    return cls(msg[:2000])
