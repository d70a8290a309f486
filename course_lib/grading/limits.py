"""Resource budgets for one submission as a whole (all of its processes together).

A per-process ``setrlimit`` does not bound a submission that forks: its children each get
the full limit.  Where the kernel lets us (root, or a delegated cgroup), every sandbox gets
its own control group below the grader's, with a memory limit (which also counts the sized
tmpfs of ``/tmp`` and ``/dev/shm``, since tmpfs pages are charged to the writer) and a limit
on the number of processes.  Killing goes through the group too, so no process the
submission started survives it.  cgroup v1 (separate ``memory`` and ``pids`` hierarchies) and
v2 (one unified hierarchy) are both supported; without either, :func:`create` returns None
and the sandbox falls back to rlimits (``RLIMIT_NPROC`` under a dedicated uid).
"""
from __future__ import annotations

import os
import secrets
import signal
import time
from pathlib import Path

__all__ = ["Cgroup", "create"]

_ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ("" = the v2 unified hierarchy)."""
    out = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    except (OSError, ValueError):
        pass
    return out


class Cgroup:
    """One group per sandbox: ``dirs`` are its directories (one per v1 controller, or one
    v2 directory)."""

    def __init__(self, dirs: list[Path], v2: bool):
        self.dirs, self.v2 = dirs, v2

    def enter(self) -> None:
        """Move the calling process into the group (called in the child before exec)."""
        for d in self.dirs:
            (d / "cgroup.procs").write_text("0")

    def pids(self) -> list[int]:
        out: set[int] = set()
        for d in self.dirs:
            try:
                out |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return sorted(out)

    def kill(self) -> None:
        """SIGKILL every process of the group, until none is left (a fork in flight may add
        one after a read)."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def out_of_memory(self) -> bool:
        """True once the kernel's OOM killer acted in this group."""
        for d in self.dirs:
            for name, key in (("memory.oom_control", "oom_kill"), ("memory.events", "oom_kill")):
                try:
                    for line in (d / name).read_text().splitlines():
                        k, _, v = line.partition(" ")
                        if k == key and int(v) > 0:
                            return True
                except (OSError, ValueError):
                    continue
        return False

    def close(self) -> None:
        self.kill()
        for d in self.dirs:
            for _ in range(100):  # rmdir fails while the last process is still exiting
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def create(memory_bytes: int, max_pids: int) -> Cgroup | None:
    """A new group with these limits below the grader's own, or None where this process may
    not create one (then the caller relies on rlimits)."""
    own = _own_paths()
    name = f"opt4dl-{os.getpid()}-{secrets.token_hex(4)}"
    made: list[Path] = []
    try:
        if (_ROOT / "memory").is_dir() and (_ROOT / "pids").is_dir() and "memory" in own and "pids" in own:
            mem = _ROOT / "memory" / own["memory"].lstrip("/") / name
            pid = _ROOT / "pids" / own["pids"].lstrip("/") / name
            for d in (mem, pid):
                d.mkdir()
                made.append(d)
            (mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
            try:  # without swap accounting the file is absent: the RAM limit still holds
                (mem / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            except OSError:
                pass
            (pid / "pids.max").write_text(str(max_pids))
            return Cgroup(made, v2=False)
        if (_ROOT / "cgroup.controllers").is_file() and "" in own:
            d = _ROOT / own[""].lstrip("/") / name
            d.mkdir()
            made.append(d)
            (d / "memory.max").write_text(str(memory_bytes))
            (d / "memory.swap.max").write_text("0")
            (d / "pids.max").write_text(str(max_pids))
            return Cgroup(made, v2=True)
    except OSError:
        for d in made:
            try:
                d.rmdir()
            except OSError:
                pass
    return None
