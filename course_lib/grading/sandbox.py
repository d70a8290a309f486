"""Run a submission's code in a separate, resource-limited process (the *sandbox*).

The trusted grader (:mod:`course_lib.grading.runner`) never executes student code itself.
It starts one worker process per submission, sends it the notebook's code cells, and then
calls the graded functions there on inputs it chose; only the returned values come back.
The grader computes the reference and compares, so nothing the student's code does inside
the worker (monkeypatching NumPy, the checks, IPython, ...) can change a verdict except by
returning correct values.

Isolation, from outer to inner:

* ``bwrap`` (bubblewrap, when installed): a read-only view of the file system, a private
  ``/tmp``, one writable scratch folder, no network, its own PID namespace, no capabilities,
  uid ``nobody``; the course's ``grading/`` (gradebook, submissions, seed), ``solutions/`` and
  ``.git`` are replaced by empty folders.  Without bwrap the grader warns loudly and falls
  back to the limits below only.
* ``setrlimit``: CPU seconds, address space, file size, no core dumps; a new session so that
  the whole process group is killed on a time-out.
* a time limit per cell and per call, enforced by the parent (``SIGKILL``): a cell or call
  is stopped once it used that long in both wall-clock and CPU time (so a loaded machine does
  not fail correct code), or ``wall_factor`` times that in wall-clock time alone.
* inside the worker, the course's reference modules are unimportable (a meta-path finder
  raises ``ImportError`` with the reason) and named library functions are replaced by a
  function that refuses to run.

Wire format (both directions): a length-prefixed JSON header plus raw array buffers.  The
decoder accepts only a fixed set of tagged node types and numeric dtypes; it never unpickles
and never calls anything named in the data, so a hostile worker can at worst send wrong
values.  ``encode``/``decode`` are public for the tests.
"""
from __future__ import annotations

import dataclasses
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = [
    "SandboxConfig",
    "Sandbox",
    "SandboxFault",
    "RemoteError",
    "ProtocolError",
    "Opaque",
    "encode",
    "decode",
    "bwrap_available",
]

MAX_HEADER = 64 << 20  # bytes of JSON per message
MAX_BUFFERS = 512 << 20  # bytes of array data per message
_DTYPES = {
    np.dtype(t).str
    for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float16", "float32", "float64", "complex64", "complex128")
}
_HEAD = struct.Struct("<QQ")


class ProtocolError(Exception):
    """A message from the worker was malformed, too large, or out of sequence."""


class SandboxFault(Exception):
    """The worker died, ran past its time limit or broke the protocol; ``str`` says which."""


class RemoteError(Exception):
    """An exception raised by the submission's code inside the worker."""


class Opaque:
    """Stands for a value the worker returned that has no wire encoding (a generator, a
    module, ...): it compares equal to nothing and converts to an object array, so a check
    fails on it with "expected a numeric array"."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


# ----------------------------------------------------------------------------- codec


def _torch():
    return sys.modules.get("torch")


def encode(obj: Any, *, callbacks: list | None = None, aliases: dict | None = None,
           strict: bool = True):
    """Turn ``obj`` into ``(tree, buffers)``: a JSON-able tree and a list of array buffers.

    ``callbacks``: when given, callables become ``{"t": "cb", "id": k}`` and are appended
    to it (the grader's side); otherwise a callable is unsupported.  ``aliases`` maps
    ``id(object)`` to a path into the call's arguments, so that a result that *is* one of
    the arguments (or part of one) comes back as a reference to it.  ``strict``: raise
    ``TypeError`` on an unsupported value (grader side) instead of sending an opaque
    placeholder (worker side).
    """
    buffers: list = []
    torch = _torch()

    def array_node(a: np.ndarray, tag: str) -> dict:
        if a.dtype.str not in _DTYPES:
            raise TypeError(f"unsupported dtype {a.dtype}")
        buffers.append(a.tobytes(order="C"))
        return {"t": tag, "i": len(buffers) - 1, "d": a.dtype.str, "s": list(a.shape)}

    def enc(x: Any, depth: int) -> Any:
        if depth > 64:
            raise TypeError("nesting deeper than 64 levels")
        if aliases is not None and isinstance(x, (np.ndarray, list, dict)) and id(x) in aliases:
            return {"t": "ref", "p": aliases[id(x)]}
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, (int, float)) and type(x) in (int, float):
            return x
        if isinstance(x, np.ndarray):
            return array_node(x, "nd")
        if isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_, np.void)):
            return array_node(np.asarray(x), "sc")
        if isinstance(x, complex):
            return {"t": "complex", "v": [x.real, x.imag]}
        if isinstance(x, list):
            return [enc(v, depth + 1) for v in x]
        if isinstance(x, tuple):
            return {"t": "tuple", "v": [enc(v, depth + 1) for v in x]}
        if isinstance(x, dict):
            return {"t": "dict", "v": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
        if torch is not None:
            if isinstance(x, torch.Tensor):
                return {"t": "torch", "v": array_node(x.detach().cpu().numpy(), "nd")}
            if isinstance(x, torch.device):
                return {"t": "device", "v": str(x)}
            if isinstance(x, torch.dtype):
                return {"t": "tdtype", "v": str(x).replace("torch.", "")}
        if callbacks is not None and callable(x):
            callbacks.append(x)
            return {"t": "cb", "id": len(callbacks) - 1}
        if strict:
            raise TypeError(f"cannot send a {type(x).__name__} to the sandbox")
        return {"t": "opaque", "v": type(x).__name__[:80]}

    return enc(obj, 0), buffers


def decode(tree: Any, buffers: list, *, make_callback: Callable | None = None,
           resolve: Callable | None = None):
    """Inverse of :func:`encode`.  Accepts only the node types listed there and the numeric
    dtypes in ``_DTYPES``; anything else raises :class:`ProtocolError`.
    ``make_callback(id)`` builds the stub for a callback node (worker side); ``resolve(path)``
    returns the argument object a ``ref`` node points to (grader side)."""

    def arr(node: dict) -> np.ndarray:
        d, s, i = node.get("d"), node.get("s"), node.get("i")
        if d not in _DTYPES or not isinstance(s, list) or not isinstance(i, int):
            raise ProtocolError(f"bad array node {str(node)[:80]}")
        if not all(isinstance(n, int) and 0 <= n for n in s) or len(s) > 32:
            raise ProtocolError("bad array shape")
        if not 0 <= i < len(buffers):
            raise ProtocolError("bad buffer index")
        dt = np.dtype(d)
        raw = buffers[i]
        if int(np.prod(s, dtype=np.int64)) * dt.itemsize != len(raw):
            raise ProtocolError("array size does not match its buffer")
        return np.frombuffer(raw, dtype=dt).reshape(s).copy()

    def dec(x: Any, depth: int) -> Any:
        if depth > 64:
            raise ProtocolError("nesting deeper than 64 levels")
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [dec(v, depth + 1) for v in x]
        if not isinstance(x, dict):
            raise ProtocolError(f"unexpected node {type(x).__name__}")
        t = x.get("t")
        if t == "nd":
            return arr(x)
        if t == "sc":
            a = arr(x)
            if a.shape != ():
                raise ProtocolError("scalar node with a shape")
            return a[()]
        if t == "tuple":
            return tuple(dec(v, depth + 1) for v in _list(x.get("v")))
        if t == "dict":
            out = {}
            for pair in _list(x.get("v")):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("bad dict item")
                k = dec(pair[0], depth + 1)
                try:
                    out[k] = dec(pair[1], depth + 1)
                except TypeError:
                    raise ProtocolError("unhashable dict key") from None
            return out
        if t == "complex":
            v = _list(x.get("v"))
            if len(v) != 2 or not all(isinstance(p, (int, float)) for p in v):
                raise ProtocolError("bad complex node")
            return complex(v[0], v[1])
        if t == "torch":
            torch = _torch()
            a = arr(_dict(x.get("v")))
            if torch is None:
                return a
            return torch.from_numpy(a)
        if t == "device":
            torch = _torch()
            return torch.device(str(x.get("v"))) if torch is not None else str(x.get("v"))
        if t == "tdtype":
            torch = _torch()
            name = str(x.get("v"))
            dt = getattr(torch, name, None) if torch is not None else None
            if not isinstance(dt, getattr(torch, "dtype", ())):
                raise ProtocolError(f"unknown torch dtype {name[:40]!r}")
            return dt
        if t == "cb":
            if make_callback is None or not isinstance(x.get("id"), int):
                raise ProtocolError("unexpected callback node")
            return make_callback(x["id"])
        if t == "ref":
            if resolve is None:
                raise ProtocolError("unexpected reference node")
            return resolve(_list(x.get("p")))
        if t == "opaque":
            return Opaque(str(x.get("v"))[:80])
        raise ProtocolError(f"unknown node type {str(t)[:40]!r}")

    try:
        return dec(tree, 0)
    except ProtocolError:
        raise
    except (RecursionError, ValueError, TypeError, KeyError, IndexError) as err:
        raise ProtocolError(f"malformed value ({type(err).__name__})") from None


def _list(v):
    if not isinstance(v, list):
        raise ProtocolError("expected a list")
    return v


def _dict(v):
    if not isinstance(v, dict):
        raise ProtocolError("expected a dict")
    return v


def _alias_map(args: tuple, kwargs: dict) -> dict:
    """``id(obj) -> path`` for every array, list and dict reachable from the arguments (the
    worker uses it so that results aliasing an argument come back as references)."""
    out: dict = {}

    def walk(x, path, depth):
        if depth > 16 or not isinstance(x, (np.ndarray, list, dict, tuple)):
            return
        if not isinstance(x, tuple):
            out.setdefault(id(x), path)
        if isinstance(x, dict):
            for k, v in x.items():
                if isinstance(k, (str, int)) and not isinstance(k, bool):
                    walk(v, path + [k], depth + 1)
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, path + [i], depth + 1)

    for i, a in enumerate(args):
        walk(a, ["a", i], 0)
    for k, v in kwargs.items():
        walk(v, ["k", k], 0)
    return out


def _resolve_path(args: tuple, kwargs: dict, path: list):
    if len(path) < 2 or path[0] not in ("a", "k"):
        raise ProtocolError("bad reference path")
    try:
        obj = args[path[1]] if path[0] == "a" else kwargs[path[1]]
        for step in path[2:]:
            obj = obj[step]
    except (IndexError, KeyError, TypeError):
        raise ProtocolError("reference to a missing argument") from None
    return obj


def write_back(orig: Any, after: Any) -> Any:
    """Apply the worker's in-place changes of one argument to the grader's copy ``orig``,
    keeping object identity (so aliasing behaves as if the function had run here).
    Returns the object to use in place of ``orig`` (``orig`` itself when it could be
    updated in place)."""
    if isinstance(orig, np.ndarray) and isinstance(after, np.ndarray):
        if orig.shape == after.shape and orig.dtype == after.dtype and orig.flags.writeable:
            if not np.array_equal(orig, after, equal_nan=True):
                orig[...] = after
            return orig
        return after
    if isinstance(orig, dict) and isinstance(after, dict):
        for k in list(orig):
            if k not in after:
                del orig[k]
        for k, v in after.items():
            orig[k] = write_back(orig[k], v) if k in orig else v
        return orig
    if isinstance(orig, list) and isinstance(after, list):
        if len(orig) == len(after):
            for i, v in enumerate(after):
                orig[i] = write_back(orig[i], v)
        else:
            orig[:] = after
        return orig
    if isinstance(orig, tuple) and isinstance(after, tuple) and len(orig) == len(after):
        new = tuple(write_back(o, a) for o, a in zip(orig, after))
        return orig if all(n is o for n, o in zip(new, orig)) else new
    return after


# ----------------------------------------------------------------------------- framing


def _send(fd: int, header: dict, buffers: list = ()) -> None:
    header = dict(header, bufs=[len(b) for b in buffers])
    head = json.dumps(header).encode()
    data = b"".join([_HEAD.pack(len(head), sum(len(b) for b in buffers)), head, *buffers])
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: "float | _Budget | None") -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline.left() if isinstance(deadline, _Budget) else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue  # the budget decides, with the time now, whether time is up
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(fd: int, deadline: "float | _Budget | None" = None) -> tuple[dict, list]:
    n_head, n_buf = _HEAD.unpack(_read_exact(fd, _HEAD.size, deadline))
    if n_head > MAX_HEADER or n_buf > MAX_BUFFERS:
        raise ProtocolError(f"message of {n_head + n_buf} bytes is larger than the limit")
    try:
        header = json.loads(_read_exact(fd, n_head, deadline))
    except (ValueError, RecursionError):
        raise ProtocolError("message header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ProtocolError("message header is not an object")
    sizes = header.get("bufs", [])
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes) \
            or sum(sizes) != n_buf:
        raise ProtocolError("buffer sizes do not add up")
    raw = _read_exact(fd, n_buf, deadline) if n_buf else b""
    buffers, pos = [], 0
    for s in sizes:
        buffers.append(raw[pos:pos + s])
        pos += s
    return header, buffers


# ----------------------------------------------------------------------------- the parent side


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a live process, from /proc (Linux); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _descendants(root: int) -> list[int]:
    """``root`` and every live process below it (bwrap, its PID-namespace init, the worker
    and anything the student's code started)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None:
                parent[int(entry)] = stat[0]
    tree, grew = {root}, True
    while grew:
        new = {p for p, pp in parent.items() if pp in tree and p not in tree}
        tree |= new
        grew = bool(new)
    return sorted(tree)


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



_BWRAP_OK: dict = {}


def bwrap_available(path: str | None = None) -> bool:
    """True when ``bwrap`` exists and can create the namespaces the sandbox uses (probed once
    per process: containers without user namespaces fail here)."""
    exe = path or shutil.which("bwrap")
    if not exe:
        return False
    if exe not in _BWRAP_OK:
        try:
            proc = subprocess.run([exe, *_bwrap_base([]), "--", "/bin/true"],
                                  capture_output=True, timeout=30)
            _BWRAP_OK[exe] = proc.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _BWRAP_OK[exe] = False
    return _BWRAP_OK[exe]


def _needed_under_tmp() -> list[str]:
    """The interpreter, its environment and this checkout, where they live under /tmp (a
    fresh clone often does): the empty /tmp of the sandbox would otherwise hide them."""
    here = Path(__file__).resolve().parents[2]
    paths = {str(here), sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent)}
    return sorted(p for p in paths if p == "/tmp" or p.startswith("/tmp/"))


def _bwrap_base(hidden: list[str]) -> list[str]:
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--unshare-all", "--new-session", "--die-with-parent", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534"]
    for p in _needed_under_tmp():
        args += ["--ro-bind", p, p]
    # Hidden paths come last so that they also cover anything re-bound above.
    for p in hidden:
        if os.path.isdir(p):
            args += ["--tmpfs", p]
        elif os.path.exists(p):
            args += ["--ro-bind", "/dev/null", p]
    return args


def default_hidden(root: str | os.PathLike | None = None) -> tuple:
    """The course's secrets under ``root`` (default: this checkout): ``grading/`` (gradebook,
    submissions, the grading seed), ``solutions/`` and ``.git`` (which holds them too)."""
    root = Path(root) if root else Path(__file__).resolve().parents[2]
    return tuple(str(root / d) for d in ("grading", "solutions", ".git"))


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    """Limits of one worker.  ``hidden``: paths replaced by empty folders (or /dev/null for
    files) inside bwrap.  ``use_bwrap``: ``None`` = when available (with a loud warning when
    not), ``False`` = never (tests of the fallback), ``True`` = required."""

    cell_timeout: float = 60.0
    call_timeout: float = 20.0
    cpu_seconds: int = 600
    memory_bytes: int = 6 << 30
    file_bytes: int = 64 << 20
    hidden: tuple = dataclasses.field(default_factory=lambda: default_hidden())
    use_bwrap: bool | None = None
    startup_timeout: float = 60.0
    #: a cell or call is stopped once it has used ``*_timeout`` seconds of both wall-clock
    #: and CPU time, or ``wall_factor`` times that in wall-clock time alone.
    wall_factor: float = 3.0


def _describe_exit(code: int | None, isolated: bool = False) -> str:
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


def _warn_no_bwrap() -> None:
    global _WARNED
    text = ("\n" + "!" * 78 + "\n"
            "!! bubblewrap (bwrap) is not available: student code runs WITHOUT a read-only\n"
            "!! file system and WITHOUT network isolation (only rlimits, a scratch working\n"
            "!! directory and import poisoning apply).  Install it: apt-get install -y bubblewrap\n"
            + "!" * 78 + "\n")
    if not _WARNED:
        sys.stderr.write(text)
        _WARNED = True
    warnings.warn("bwrap is not available: the grading sandbox is weaker (see stderr)", RuntimeWarning,
                  stacklevel=3)


class Sandbox:
    """One worker process.  Use as a context manager; every method raises
    :class:`SandboxFault` when the worker dies or times out (the worker is then gone and
    :attr:`alive` is False)."""

    def __init__(self, config: SandboxConfig = SandboxConfig()):
        self.config = config
        self.proc: subprocess.Popen | None = None
        self.isolated = False
        self._scratch: str | None = None
        self._r = self._w = -1
        self._pids: list[int] = []

    def _cpu_seconds(self, rescan: bool) -> float:
        """CPU seconds used so far by the worker's process tree; ``rescan`` also finds
        processes started since the last scan (a full /proc walk, done only once a request
        has outlived its wall-clock limit)."""
        if self.proc is None:
            return 0.0
        if rescan or not self._pids:
            self._pids = _descendants(self.proc.pid)
        return sum(stat[1] for stat in map(_proc_stat, self._pids) if stat is not None)

    # -- life cycle

    def start(self) -> "Sandbox":
        cfg = self.config
        use = cfg.use_bwrap
        if use is None:
            use = bwrap_available()
            if not use:
                _warn_no_bwrap()
        elif use and not bwrap_available():
            raise RuntimeError("use_bwrap=True but bwrap is not installed or cannot create namespaces")
        self.isolated = bool(use)
        self._scratch = tempfile.mkdtemp(prefix="opt4dl-sandbox-")
        os.chmod(self._scratch, 0o777)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        root = str(Path(__file__).resolve().parents[2])
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self._scratch, "TMPDIR": self._scratch,
            "PYTHONPATH": root, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": self._scratch, "LANG": "C.UTF-8",
        }
        cmd = [sys.executable, "-u", "-m", "course_lib.grading.sandbox", "--worker",
               str(to_child_r), str(from_child_w)]
        if use:
            cmd = [shutil.which("bwrap"), *_bwrap_base(list(cfg.hidden)),
                   "--bind", self._scratch, self._scratch, "--chdir", self._scratch, "--", *cmd]

        def limits():
            import resource

            resource.setrlimit(resource.RLIMIT_CPU, (cfg.cpu_seconds, cfg.cpu_seconds + 5))
            resource.setrlimit(resource.RLIMIT_AS, (cfg.memory_bytes, cfg.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (cfg.file_bytes, cfg.file_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            try:  # die with the grader (Linux); bwrap adds --die-with-parent on its own
                import ctypes

                ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            except Exception:  # noqa: BLE001 - not Linux: the timeouts still apply
                pass

        self.proc = subprocess.Popen(
            cmd, cwd=self._scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(to_child_r, from_child_w), start_new_session=True,
            preexec_fn=limits)
        os.close(to_child_r)
        os.close(from_child_w)
        self._w, self._r = to_child_w, from_child_r
        reply = self._request({"op": "hello"}, timeout=cfg.startup_timeout, what="starting")
        if reply[0].get("op") != "ready":
            self._fault("the worker did not start")
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
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
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

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
        if self.proc is not None and code is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = None
        self.close()
        raise SandboxFault(reason.format(exit=_describe_exit(code, self.isolated)))

    def _request(self, header: dict, buffers: list = (), *, timeout: float, what: str,
                 on_callback: Callable | None = None) -> tuple[dict, list]:
        if not self.alive:
            raise SandboxFault("the sandbox is not running")
        clock = self._cpu_seconds if os.path.isdir("/proc/self") else None
        budget = _Budget(timeout, self.config.wall_factor, clock)
        try:
            _send(self._w, header, buffers)
            while True:
                reply, bufs = _recv(self._r, budget)
                if reply.get("op") == "cb" and on_callback is not None:
                    on_callback(reply, bufs)
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
              driver_module: str | None = None) -> None:
        """Make ``forbidden`` module prefixes unimportable, replace the attributes
        ``poison`` = [(module, attribute)] by a refusing function, and (``driver_module``)
        load the drivers of that grading module with its references removed."""
        reply, _ = self._request({"op": "setup", "forbidden": forbidden, "poison": [list(p) for p in poison],
                                  "reason": reason, "driver_module": driver_module},
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
        """``name(*args, **kwargs)`` in the worker.  Changes the function makes to its
        arguments are applied to ``args``/``kwargs``; callables in the arguments are called
        back here.  Raises :class:`RemoteError` (or ``NotImplementedError``) for an exception
        in the student's code."""
        callbacks: list = []
        tree, bufs = encode({"args": tuple(args), "kwargs": dict(kwargs)}, callbacks=callbacks)
        return self._invoke({"op": "call", "name": name, "value": tree}, bufs, args, kwargs,
                            callbacks, label or f"calling {name}")

    def drive(self, key: str, name: str, args: tuple, kwargs: dict, *, label: str | None = None) -> Any:
        """Run the grading driver ``key`` of the set-up module on the worker's ``name``."""
        tree, bufs = encode({"args": tuple(args), "kwargs": dict(kwargs)})
        return self._invoke({"op": "drive", "key": key, "name": name, "value": tree}, bufs, args, kwargs,
                            [], label or f"running {name}")

    def _invoke(self, header, bufs, args, kwargs, callbacks, what):
        def on_callback(msg, cb_bufs):
            try:
                k = msg.get("id")
                if not isinstance(k, int) or not 0 <= k < len(callbacks):
                    raise ProtocolError("unknown callback")
                payload = _dict(decode(msg.get("value"), cb_bufs))
                value = callbacks[k](*payload.get("args", ()), **payload.get("kwargs", {}))
                tree, out = encode(value)
                _send(self._w, {"op": "cbret", "value": tree}, out)
            except ProtocolError:
                raise
            except Exception as err:  # noqa: BLE001 - the grader's function failed on the student's input
                _send(self._w, {"op": "cberr", "type": type(err).__name__, "msg": str(err)[:500]})

        reply, rbufs = self._request(header, bufs, timeout=self.config.call_timeout, what=what,
                                     on_callback=on_callback)
        op = reply.get("op")
        try:
            if op == "error":
                raise _remote_exception(str(reply.get("type")), str(reply.get("msg")))
            if op != "result":
                raise ProtocolError(f"unexpected reply {str(op)[:40]!r}")
            if reply.get("after") is not None:
                after = _dict(decode(reply["after"], rbufs))
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
                          resolve=lambda path: _resolve_path(tuple(args), kwargs, path))
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


# ----------------------------------------------------------------------------- the worker side


def _worker(rfd: int, wfd: int) -> None:  # pragma: no cover - runs in the child process
    import gc
    import importlib
    import importlib.abc
    import traceback
    import types

    namespace_module = types.ModuleType("__main__")
    ns = namespace_module.__dict__
    ns["get_ipython"] = lambda: _NoIPython()
    ns["display"] = lambda *a, **k: None
    drivers: dict = {}
    send, recv = _send, _recv

    def one_line(err: BaseException) -> str:
        return traceback.format_exception_only(type(err), err)[-1].strip()[:2000]

    class Refuse(importlib.abc.MetaPathFinder):
        def __init__(self, prefixes, reason):
            self.prefixes, self.reason = tuple(prefixes), reason

        def find_spec(self, name, path=None, target=None):
            if any(name == p or name.startswith(p + ".") for p in self.prefixes):
                raise ImportError(f"{name} is not available while grading: {self.reason}")
            return None

    def setup(msg):
        key = msg.get("driver_module")
        if key:
            mod = importlib.import_module(f"course_lib.grading.{key}")
            drivers.update(_extract_drivers(mod))
            _scrub(mod)
        forbidden = [str(p) for p in msg.get("forbidden", [])]
        reason = str(msg.get("reason", "write this part yourself"))
        for name in list(sys.modules):
            if any(name == p or name.startswith(p + ".") for p in forbidden):
                del sys.modules[name]
                parent, _, child = name.rpartition(".")
                if parent in sys.modules and hasattr(sys.modules[parent], child):
                    try:
                        delattr(sys.modules[parent], child)
                    except AttributeError:
                        pass
        importlib.invalidate_caches()
        sys.meta_path.insert(0, Refuse(forbidden, reason))
        for mod_name, attr in msg.get("poison", []):
            try:
                owner = importlib.import_module(mod_name)
            except ImportError:
                owner = None
                head, _, tail = mod_name.rpartition(".")
                try:
                    owner = getattr(importlib.import_module(head), tail)
                except (ImportError, AttributeError):
                    continue
            if hasattr(owner, attr):
                setattr(owner, attr, _refuser(f"{mod_name}.{attr}", reason))
        gc.collect()

    def decode_call(msg, bufs, callback_factory):
        payload = decode(msg.get("value"), bufs, make_callback=callback_factory)
        return tuple(payload["args"]), dict(payload["kwargs"])

    def make_callback(k):
        def callback(*args, **kwargs):
            tree, out = encode({"args": args, "kwargs": kwargs}, strict=False)
            send(wfd, {"op": "cb", "id": k, "value": tree}, out)
            reply, rb = recv(rfd)
            if reply.get("op") == "cbret":
                return decode(reply.get("value"), rb)
            raise RuntimeError(f"{reply.get('type')}: {reply.get('msg')}")
        return callback

    def reply_result(value, args, kwargs, before):
        aliases = _alias_map(args, kwargs)
        after = None
        if before is not None and _changed(before, (args, kwargs)):
            after = {"args": args, "kwargs": kwargs}
        tree, out = encode(value, aliases=aliases, strict=False)
        head = {"op": "result", "value": tree}
        if after is not None:
            t2, o2 = encode(after, strict=False)
            t2 = _shift(t2, len(out))
            out = out + o2
            head["after"] = t2
        send(wfd, head, out)

    sys.modules["__main__"] = namespace_module
    while True:
        try:
            msg, bufs = recv(rfd)
        except EOFError:
            os._exit(0)
        op = msg.get("op")
        try:
            if op == "hello":
                send(wfd, {"op": "ready"})
            elif op == "setup":
                setup(msg)
                send(wfd, {"op": "ok"})
            elif op == "exec":
                error = None
                try:
                    code = compile(msg["source"], f"<{msg.get('label', 'cell')}>", "exec")
                    exec(code, ns)
                except BaseException as err:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
                    error = one_line(err)
                send(wfd, {"op": "done", "error": error})
            elif op == "lookup":
                out = {}
                for n in msg.get("names", []):
                    v = ns.get(n, _MISSING)
                    out[n] = "missing" if v is _MISSING else ("callable" if callable(v) else type(v).__name__)
                send(wfd, {"op": "names", "v": out})
            elif op in ("call", "drive"):
                fn = ns.get(msg.get("name"), _MISSING)
                try:
                    args, kwargs = decode_call(msg, bufs, make_callback)
                    before = _snapshot((args, kwargs)) if op == "call" else None
                    if fn is _MISSING:
                        raise NameError(f"name {msg.get('name')!r} is not defined")
                    if op == "call":
                        value = fn(*args, **kwargs)
                    else:
                        value = drivers[msg["key"]](fn, *args, **kwargs)
                except BaseException as err:  # noqa: BLE001
                    send(wfd, {"op": "error", "type": type(err).__name__, "msg": _message(err)})
                    continue
                reply_result(value, args, kwargs, before)
            else:
                send(wfd, {"op": "error", "type": "ProtocolError", "msg": f"unknown op {op!r}"})
        except (BrokenPipeError, OSError):
            os._exit(3)
        except BaseException as err:  # noqa: BLE001 - e.g. an unencodable value: report, go on
            try:
                send(wfd, {"op": "error", "type": type(err).__name__, "msg": _message(err)})
            except BaseException:  # noqa: BLE001
                os._exit(3)


_MISSING = object()


def _message(err: BaseException) -> str:
    try:
        return str(err)[:2000]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "(the error message could not be read)"


def _shift(tree, k: int):
    """Renumber the buffer indices of an encoded tree by ``k`` (to append two trees' buffers)."""
    if isinstance(tree, list):
        return [_shift(v, k) for v in tree]
    if isinstance(tree, dict):
        out = {key: _shift(v, k) for key, v in tree.items()}
        if tree.get("t") in ("nd", "sc") and isinstance(tree.get("i"), int):
            out["i"] = tree["i"] + k
        return out
    return tree


def _snapshot(x):
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, dict):
        return {k: _snapshot(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_snapshot(v) for v in x) if isinstance(x, tuple) else [_snapshot(v) for v in x]
    return x


def _changed(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and before.shape == after.shape
                    and before.dtype == after.dtype and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, dict):
        return not isinstance(after, dict) or set(before) != set(after) or any(
            _changed(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return not isinstance(after, (list, tuple)) or len(before) != len(after) or any(
            _changed(b, a) for b, a in zip(before, after))
    return False


class _NoIPython:
    """``get_ipython()`` in the worker: magics and shell escapes do nothing."""

    def __getattr__(self, name):
        return lambda *a, **k: None


def _refuser(what: str, reason: str):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"{what} is not available while grading: {reason}")

    return refuse


def check_spec(check: Callable) -> dict | None:
    """The parts of a :func:`core.make_check` check function (its ``.spec``) as a dict:
    ``name, reference, cases, wrap, driver, tol, variants, select, check_dtype,
    no_mutation``; None when ``check`` was not made by make_check (it is then run as a
    whole with a proxy function)."""
    spec = getattr(check, "spec", None)
    if spec is None or not dataclasses.is_dataclass(spec):
        return None
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}


def driver_keys(module) -> dict[str, Callable]:
    """``"check_<id>" / "check_<id>_hidden" -> driver`` for every make_check check with a driver."""
    out = {}
    for check_id in module.CHECKS:
        for part in (f"check_{check_id}", f"check_{check_id}_hidden"):
            spec = check_spec(getattr(module, part))
            if spec is not None and spec["driver"] is not None:
                out[part] = spec["driver"]
    return out


def _extract_drivers(mod) -> dict:  # pragma: no cover - worker side
    return driver_keys(mod)


def _scrub(mod) -> None:  # pragma: no cover - worker side
    """Remove the reference implementations, variants and checks from a grading module that
    stays loaded only for its drivers: names the drivers compare against (``cls is Adam``)
    become inert placeholders."""
    doomed = set(getattr(mod, "FUNCTIONS", {}).values()) | {"VARIANTS", "CHECKS", "FUNCTIONS"}
    variant_fns = {id(v.fn) for vs in getattr(mod, "VARIANTS", {}).values() for v in vs}
    for name, obj in list(vars(mod).items()):
        if name in doomed or name.startswith("check_") or id(obj) in variant_fns:
            vars(mod)[name] = _Scrubbed(name)
    for name in list(sys.modules):
        if name.startswith("course_lib.grading."):
            sys.modules.pop(name, None)


class _Scrubbed:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<{self.name}: not available while grading>"

    def __call__(self, *a, **k):
        raise RuntimeError(f"{self.name} is not available while grading")


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--worker":
    _worker(int(sys.argv[2]), int(sys.argv[3]))
