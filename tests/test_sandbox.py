"""The grading sandbox: wire format, isolation, fault containment, and fidelity (every
catalogued wrong variant fails exactly the same checks through the sandbox as in-process)."""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pickle
import subprocess
import sys
import time
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course_lib.grading import core, policy, repair, results, runner, sandbox
from course_lib.grading.protocol import Same
from course_lib.grading.sandbox import (Opaque, ProtocolError, RemoteError, Sandbox, SandboxConfig,
                                        SandboxFault, decode, encode)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import grade as grade_tool  # noqa: E402

FAST = SandboxConfig(call_timeout=3.0, cell_timeout=5.0, memory_bytes=3 << 30)


def roundtrip(x):
    tree, bufs = encode(x)
    # through real JSON, as on the wire
    return decode(json.loads(json.dumps(tree)), bufs)


# ----------------------------------------------------------------------------- codec


def test_codec_keeps_types_dtypes_and_structure():
    x = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "t": 3, 7: (1.5, None, True),
         "s": np.float32(0.25), "i": np.int64(-4), "nan": float("nan"), "inf": np.array([np.inf, -np.inf]),
         "l": [np.zeros((0, 2)), "txt"], "c": 1 + 2j, "b": np.array([True, False]),
         "nc": np.arange(12.0).reshape(3, 4)[:, ::2]}
    y = roundtrip(x)
    assert y["w"].dtype == np.float32 and np.array_equal(y["w"], x["w"])
    assert type(y["s"]) is np.float32 and y["s"] == np.float32(0.25)
    assert type(y["i"]) is np.int64 and y["i"] == -4
    assert y[7] == (1.5, None, True) and isinstance(y[7], tuple)
    assert np.isnan(y["nan"]) and np.array_equal(y["inf"], x["inf"])
    assert y["l"][0].shape == (0, 2) and y["l"][1] == "txt"
    assert y["c"] == 1 + 2j and y["b"].dtype == np.bool_
    assert np.array_equal(y["nc"], [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]])
    assert type(y["t"]) is int and y["t"] == 3


def test_codec_torch_values():
    y = roundtrip((torch.tensor([1.0, 2.0], dtype=torch.float64), torch.device("cpu"), torch.float32))
    assert isinstance(y[0], torch.Tensor) and y[0].dtype == torch.float64 and y[0].tolist() == [1.0, 2.0]
    assert y[1] == torch.device("cpu") and y[2] is torch.float32


def test_codec_refuses_unsupported_values_on_the_grader_side_only():
    with pytest.raises(TypeError, match="cannot send a object"):
        encode(object())
    with pytest.raises(TypeError, match="unsupported dtype object"):
        encode(np.array([object()]))
    tree, _ = encode(iter([1]), strict=False)
    assert isinstance(decode(tree, []), Opaque)
    cbs = []
    tree, _ = encode((len,), callbacks=cbs)
    assert cbs == [len] and tree["v"][0] == {"t": "cb", "id": 0}


@pytest.mark.parametrize("tree,bufs,match", [
    ({"t": "nd", "i": 0, "d": "|O", "s": [1]}, [b"\0" * 8], "bad array node"),
    ({"t": "nd", "i": 0, "d": "<f8", "s": [2]}, [b"\0" * 8], "does not match"),
    ({"t": "nd", "i": 3, "d": "<f8", "s": [1]}, [b"\0" * 8], "buffer index"),
    ({"t": "nd", "i": 0, "d": "<f8", "s": [-1]}, [b"\0" * 8], "shape"),
    ({"t": "pickle", "v": "gASVAAAAAAAAAAB9lC4="}, [], "unknown node type"),
    ({"t": "cb", "id": 0}, [], "unexpected callback"),
    ({"t": "ref", "p": ["a", 0]}, [], "unexpected reference"),
    ({"t": "dict", "v": [[[1], 2]]}, [], "unhashable"),
    ({"t": "tdtype", "v": "Tensor"}, [], "unknown torch dtype"),
])
def test_decoder_rejects_malformed_messages(tree, bufs, match):
    with pytest.raises(ProtocolError, match=match):
        decode(tree, bufs)


def test_decoder_rejects_deep_nesting_and_never_unpickles():
    deep = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ProtocolError):
        decode(deep, [])
    with pytest.raises(ProtocolError):
        decode({"t": "nd", "i": 0, "d": "|O", "s": []}, [pickle.dumps(os.system)])


def test_write_back_keeps_identity():
    # an array that is the same object in the worker is changed in place here; one the
    # call replaced is replaced here too, and the old array is left as it was
    state = {"m": np.zeros(2), "v": np.zeros(2), "t": 0}
    m, v = state["m"], state["v"]
    sandbox.write_back(state, {"m": Same(np.ones(2)), "v": np.full(2, 2.0), "t": 1, "new": 5})
    assert state["m"] is m and np.array_equal(m, [1.0, 1.0]) and state["t"] == 1 and state["new"] == 5
    assert state["v"] is not v and np.array_equal(v, [0.0, 0.0]) and np.array_equal(state["v"], [2.0, 2.0])


# ----------------------------------------------------------------------------- calls


@pytest.fixture(scope="module")
def sb():
    with Sandbox(FAST) as box:
        box.setup(forbidden=["course_lib.optim", "course_lib.grading"], poison=[("numpy", "linalg")],
                  reason="write it yourself")
        yield box


def test_calls_return_values_mutations_and_aliases(sb):
    assert sb.exec_cell("import numpy as np\n"
                        "def step(w, state):\n"
                        "    state['m'] += w\n"
                        "    return (w * 2).astype(np.float32), state\n", "cell") is None
    state = {"m": np.zeros(3)}
    m = state["m"]
    w_new, out = sb.call("step", (np.ones(3), state), {})
    assert w_new.dtype == np.float32 and np.array_equal(w_new, [2, 2, 2])
    # the in-place change reached our copy, and the returned dict IS the argument
    assert out is state and state["m"] is m and np.array_equal(m, [1, 1, 1])


def test_callbacks_run_in_the_grader(sb):
    sb.exec_cell("def apply(f, x):\n    return f(x) + f(x=x)\n", "cell")
    seen = []

    def f(x):
        seen.append(x.copy())
        return x * 3

    assert np.array_equal(sb.call("apply", (f, np.arange(3.0)), {}), [0.0, 6.0, 12.0])
    assert len(seen) == 2
    sb.exec_cell("def bad(f, x):\n    return f('oops')\n", "cell")
    with pytest.raises(RemoteError, match="TypeError"):
        sb.call("bad", (lambda x: x * np.ones(2) @ np.ones(3), np.zeros(1)), {})


def test_student_errors_come_back_as_errors(sb):
    # The sandbox is shared by this module's tests: define everything looked up below here,
    # whatever order xdist runs the tests in.
    sb.exec_cell("import numpy as np\n"
                 "def stub(x):\n    raise NotImplementedError()\n"
                 "def oops(x):\n    raise ValueError('shape mismatch')\n"
                 "def leave(x):\n    raise SystemExit(3)\n", "cell")
    with pytest.raises(NotImplementedError):
        sb.call("stub", (1,), {})
    with pytest.raises(RemoteError, match="shape mismatch") as info:
        sb.call("oops", (1,), {})
    assert type(info.value).__name__ == "ValueError"
    with pytest.raises(RemoteError, match="3"):
        sb.call("leave", (1,), {})
    assert sb.alive and sb.lookup(["stub", "np", "nothing"]) == {
        "stub": "callable", "np": "module", "nothing": "missing"}
    assert sb.exec_cell("import sys\nsys.exit(1)", "cell 9") == "SystemExit: 1"
    # IPython syntax is parsed in the sandbox (not by the grader), and magics do nothing there
    assert sb.exec_cell("%matplotlib inline\nfiles = !ls\nx_magic = 1", "magic") is None
    assert sb.lookup(["x_magic"]) == {"x_magic": "int"}


def test_reference_modules_are_unimportable_and_poisoned(sb):
    err = sb.exec_cell("from course_lib.optim import adam_step", "cell")
    assert err.startswith("ImportError: course_lib.optim is not available while grading: write it yourself")
    err = sb.exec_cell("import importlib\nimportlib.import_module('course_lib.grading.a3_adaptive')", "cell")
    assert "course_lib.grading" in err and "not available while grading" in err
    err = sb.exec_cell("import numpy\nnumpy.linalg()", "cell")
    assert err == "RuntimeError: numpy.linalg is not available while grading: write it yourself"
    # allowed parts of course_lib still import
    assert sb.exec_cell("import course_lib.surfaces", "cell") is None


def test_isolation_with_bwrap(sb):
    problem = sandbox.sandbox_problem()
    assert problem is None, problem
    assert sb.isolated
    os.environ[runner.SEED_ENV] = "123"
    try:
        sb.exec_cell(f"""
import os, socket
def probe(_):
    out = {{}}
    for what, fn in [("write_repo", lambda: open({str(ROOT / 'HACKED')!r}, 'w')),
                     ("net", lambda: socket.create_connection(('1.1.1.1', 53), timeout=1))]:
        try:
            fn(); out[what] = 'ok'
        except OSError as e:
            out[what] = type(e).__name__
    out['solutions'] = os.path.exists({str(ROOT / 'solutions')!r})
    out['git'] = os.path.exists({str(ROOT / '.git' / 'HEAD')!r})
    out['env'] = sorted(k for k in os.environ if 'GRADING' in k)
    out['cwd_in_repo'] = os.getcwd().startswith({str(ROOT)!r})
    out['pids'] = len([p for p in os.listdir('/proc') if p.isdigit()])
    out['uid'] = (os.getuid(), os.getgid(), os.getgroups())
    out['caps'] = [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0]
    out['root'] = sorted(os.listdir('/'))
    out['repo'] = sorted(os.listdir({str(ROOT)!r})) if os.path.isdir({str(ROOT)!r}) else []
    out['etc'] = os.path.exists('/etc/passwd')
    out['home'] = os.path.exists({os.path.expanduser('~')!r} + '/.bashrc')
    out['view'] = sorted(os.listdir('/opt4dl/course_lib/grading'))
    out['torch'] = any(os.path.isdir(p + '/torch') for p in __import__('sys').path)
    open('scratch.txt', 'w').write('ok')
    return out
""", "cell")
        got = sb.call("probe", (0,), {})
    finally:
        del os.environ[runner.SEED_ENV]
    assert got["write_repo"] != "ok" and got["net"] != "ok"
    assert got["solutions"] is False and got["git"] is False and got["env"] == []
    assert got["cwd_in_repo"] is False and got["pids"] <= 3
    assert not (ROOT / "HACKED").exists()
    # an unprivileged uid with no capabilities (the host's "nobody" when grading as root)
    assert got["uid"][:2] == (sandbox.NOBODY, sandbox.NOBODY) and got["caps"] == "0" * 16
    # an allow-list file system: system libraries, the interpreter, the allowed packages and
    # the student view; no checkout, no /etc, no home, no torch for a NumPy assignment
    assert set(got["root"]) <= {"bin", "dev", "lib", "lib32", "lib64", "libx32", "opt4dl", "proc",
                                "sbin", "tmp", "usr", *{p.split("/")[1] for p in (sys.base_prefix, str(ROOT))}}
    # (the checkout shows only as the path to its virtualenv's allowed packages)
    assert set(got["repo"]) <= {".venv"} and got["etc"] is False and got["home"] is False
    assert got["view"] == ["__init__.py", "a6_drivers.py", "protocol.py", "worker.py"]
    assert got["torch"] is False


def test_without_bwrap_student_code_is_not_run_unless_unsafe(monkeypatch, capsys):
    real = sandbox.shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "bwrap" else real(name))
    monkeypatch.setattr(sandbox, "_WARNED", False)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install -y bubblewrap.*--unsafe"):
        Sandbox(FAST).start()
    with pytest.warns(RuntimeWarning, match="without the sandbox"):
        with Sandbox(dataclasses.replace(FAST, unsafe=True)) as box:
            assert not box.isolated
            assert box.exec_cell("x = 1", "cell") is None
    assert "UNSAFE" in capsys.readouterr().err


def test_a_failing_bwrap_is_reported_with_its_reason(monkeypatch):
    # e.g. namespaces not permitted in a container: bubblewrap's own message is the reason
    monkeypatch.setattr(sandbox, "_PROBED", {})
    monkeypatch.setattr(sandbox, "bwrap_argv", lambda *a: ["--no-such-option", "--"])
    problem = sandbox.sandbox_problem(FAST)
    assert problem and "could not start the sandbox" in problem and "no-such-option" in problem
    with pytest.raises(sandbox.SandboxUnavailable, match="no-such-option"):
        Sandbox(FAST).start()


# ----------------------------------------------------------------------------- faults


FAULTS = {
    "loop": ("def f(x):\n    while True:\n        pass\n", "time limit"),
    "ignore_signals": ("import signal\nfor s in (signal.SIGINT, signal.SIGTERM):\n    signal.signal(s, signal.SIG_IGN)\n"
                       "def f(x):\n    while True:\n        pass\n", "time limit"),
    "os_exit": ("import os\ndef f(x):\n    os._exit(7)\n", "exited with status 7"),
    "segfault": ("import ctypes\ndef f(x):\n    return ctypes.string_at(0)\n", "SIGSEGV"),
    "protocol": ("import os, sys\ndef f(x):\n    os.write(int(sys.argv[-1]), b'\\xff' * 64)\n    return 1\n",
                 "larger than the limit|protocol"),
}


@pytest.mark.parametrize("unsafe", [False, True], ids=["bwrap", "rlimits-only"])
@pytest.mark.parametrize("name", sorted(FAULTS))
def test_faults_are_contained(name, unsafe):
    src, match = FAULTS[name]
    cfg = SandboxConfig(call_timeout=1.5, cell_timeout=5.0, memory_bytes=3 << 30, unsafe=unsafe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        box = Sandbox(cfg).start()
    try:
        assert box.exec_cell(src, "cell") is None
        with pytest.raises(SandboxFault, match=match):
            box.call("f", (np.zeros(2),), {})
        assert not box.alive
    finally:
        box.close()


def test_time_limit_counts_computing_not_a_slow_machine():
    # A call that waits (as on a machine busy with other gradings) past its limit without
    # computing still finishes; one that computes is stopped at about the limit; one that
    # blocks for ever is stopped after wall_factor times the limit.
    cfg = SandboxConfig(call_timeout=1.0, cell_timeout=5.0, wall_factor=3.0)
    src = ("import time\ndef slow(x):\n    time.sleep(1.6)\n    return x + 1\n"
           "def spin(x):\n    while True:\n        pass\n"
           "def block(x):\n    time.sleep(100)\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, match, after in (("slow", None, 1.6), ("spin", r"than 1 s \(time limit\)", 1.0),
                                   ("block", r"than 3 s of waiting \(time limit\)", 3.0)):
            with Sandbox(cfg) as box:
                assert box.exec_cell(src, "cell") is None
                t0 = time.monotonic()
                if match is None:
                    assert box.call(name, (1.0,), {}) == 2.0
                else:
                    with pytest.raises(SandboxFault, match=match):
                        box.call(name, (1.0,), {})
                    assert not box.alive
                assert time.monotonic() - t0 >= after, name


def test_memory_bomb_is_an_error_not_a_crash(sb):
    sb.exec_cell("import numpy as np\ndef bomb(x):\n    return np.ones(1 << 34)\n", "cell")
    with pytest.raises(RemoteError, match="MemoryError|Unable to allocate"):
        sb.call("bomb", (0,), {})
    assert sb.alive


def test_huge_output_and_huge_results(sb):
    sb.exec_cell("import numpy as np\ndef chatty(x):\n    for _ in range(300):\n        print('x' * 100000)\n"
                 "    return x + 1\n", "cell")
    assert np.array_equal(sb.call("chatty", (np.zeros(2),), {}), [1.0, 1.0])


# ----------------------------------------------------------------------------- fidelity


def _session(aid, tmp_path):
    rel = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    src = nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    path = tmp_path / f"{aid}.ipynb"
    nbformat.write(grade_tool.fill_solutions(rel, src), path)
    rep = repair.repair(path, rel)
    cfg = runner.GradingConfig(seed=runner.DEFAULT_TEST_SEED, limits=runner.limited(call_timeout=30.0))
    result = results.Result("x", aid, str(path))
    return rep, cfg, runner._Session(cfg, aid, runner._cells_to_run(rep.nb), result)


@pytest.mark.parametrize("aid", core.ASSIGNMENTS)
def test_variants_fail_the_same_checks_through_the_sandbox(aid, tmp_path):
    """Each catalogued mistake, defined in the sandbox, fails exactly its ``fails`` set when
    checked through proxies (with the hidden cases re-seeded), as it does in-process."""
    module = importlib.import_module(f"course_lib.grading.{aid}")
    rep, cfg, session = _session(aid, tmp_path)
    fns = sorted(set(module.FUNCTIONS.values()))
    pol = policy.POLICY[aid]
    header = "import numpy as np\nimport math\nimport copy\n" + (
        "import torch\nimport torch.nn.functional as F\n" if aid == "a6_training" else "")
    mismatches = []
    try:
        for fname, variants in module.VARIANTS.items():
            own = [c.source for c in rep.nb.cells if repair.is_answer_cell(c)
                   and fname in repair.defined_names(c.source)][0]
            # a6 runs torch models for every case: one variant per function keeps this fast
            for v in variants[:1] if aid == "a6_training" else variants:
                session.ensure(fns)
                assert session.sb.exec_cell(header + core.variant_source(v, fname), "variant") is None
                got = {c.id for c in module.GRADED if c.function == fname
                       and runner._grade_part(c, session, cfg, pol, fns).score == 0}
                if got != set(v.fails):
                    mismatches.append((fname, v.id, sorted(got), sorted(v.fails)))
                session.sb.exec_cell(own, "reference again")
            got = {c.id for c in module.GRADED if c.function == fname
                   and runner._grade_part(c, session, cfg, pol, fns).score == 0}
            assert got == set(), f"the reference {fname} fails {got}"
    finally:
        session.close()
    assert session.restarts == 1, session.result.notes
    assert mismatches == []


# ----------------------------------------------------------------------------- hidden-case seed


def test_hidden_cases_depend_on_the_instructor_seed():
    plain = core.case_rng(31).random(3)
    assert np.array_equal(plain, np.random.default_rng(31).random(3))  # outside grading: the seed
    with core.hidden_seed(1):
        one = core.case_rng(31).random(3)
        assert np.array_equal(core.case_rng(31).random(3), one)  # reproducible
        torch_one = core.case_seed(4)
    with core.hidden_seed(2):
        two = core.case_rng(31).random(3)
        torch_two = core.case_seed(4)
    assert not np.array_equal(one, plain) and not np.array_equal(one, two)
    assert core.case_seed(4) == 4 and len({torch_one, torch_two, 4}) == 3
    assert np.array_equal(core.case_rng(31).random(3), plain)


@pytest.mark.parametrize("aid", core.ASSIGNMENTS)
def test_every_hidden_case_depends_on_the_seed(aid):
    """No hidden case of any check can be computed from the public repository: drawn with
    two grading seeds, every hidden part's cases differ (torch seeds in a6 included)."""
    module = importlib.import_module(f"course_lib.grading.{aid}")

    def cases(seed):
        with core.hidden_seed(seed):
            out = {}
            for check in module.GRADED:
                out[check.id] = repr([(c.args, dict(c.kwargs)) for spec in core.specs(check.hidden)
                                      for c in (spec.cases() if callable(spec.cases) else spec.cases)])
            return out

    one, two = cases(1), cases(2)
    same = [cid for cid in module.CHECKS if one[cid] == two[cid]]
    assert same == [], f"hidden cases of {same} do not depend on the grading seed"


def test_grading_seed_from_env_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv(runner.SEED_ENV, raising=False)
    first = runner.grading_seed(tmp_path)
    path = tmp_path / "grading" / "grading_seed"
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert runner.grading_seed(tmp_path) == first
    monkeypatch.setenv(runner.SEED_ENV, "42")
    assert runner.grading_seed(tmp_path) == 42
    monkeypatch.setenv(runner.SEED_ENV, "forty-two")
    with pytest.raises(ValueError, match="OPT4DL_GRADING_SEED must be an integer"):
        runner.grading_seed(tmp_path)
    monkeypatch.delenv(runner.SEED_ENV)
    with pytest.raises(ValueError, match="no grading seed"):
        runner.grading_seed(None)


def test_static_inspection_finds_reference_imports():
    mods, names = policy.POLICY["a6_training"]["modules"], policy.POLICY["a6_training"]["names"]
    src = ("import torch\nimport torch.optim as O\nfrom course_lib import torch_optim\n"
           "x = O.Adam\ny = torch.optim.SGD\nz = __import__('course_lib.train')\n"
           "s = 'torch.optim.Adam in a string is fine'\n")
    found = policy.static_violations(src, mods, names)
    assert any("line 3 imports course_lib.torch_optim" in f for f in found)
    assert any("line 4 uses torch.optim.Adam" in f for f in found)
    assert any("line 6 imports course_lib.train" in f for f in found)
    assert not any("SGD" in f or "line 7" in f for f in found)
    assert policy.static_violations("def f(:\n", mods, names) == []


# ----------------------------------------------------------------------------- red-team regressions


def test_decoder_allocates_at_most_what_was_received():
    # finding 10: many array nodes naming one large buffer were each copied
    node = {"t": "nd", "i": 0, "d": np.dtype("float64").str, "s": [4]}
    with pytest.raises(ProtocolError, match="used by two arrays"):
        decode([node] * 12, [np.zeros(4).tobytes()])


def _frame(header: dict) -> bytes:
    import struct

    head = json.dumps(dict(header, bufs=[])).encode()
    return struct.pack("<QQ", len(head), 0) + head


def test_a_forged_reply_and_a_large_cell_cannot_block_the_grader():
    # finding 8: a forged "done" makes the grader send the next cell while the worker is
    # still busy (not reading); a blocking write of more than a pipe's buffer never returned
    cfg = SandboxConfig(call_timeout=1.0, cell_timeout=1.0, wall_factor=2.0)
    forged = _frame({"op": "done", "error": None})
    with Sandbox(cfg) as box:
        t0 = time.monotonic()
        assert box.exec_cell(f"import os, sys, time\nos.write(int(sys.argv[-1]), {forged!r})\n"
                             "time.sleep(1000)\n", "forger") is None  # the forged reply
        with pytest.raises(SandboxFault, match="time limit"):
            box.exec_cell("x = 1\n" + "#" * (1 << 20), "large cell")
        assert time.monotonic() - t0 < 10 and not box.alive


def _limits(box, code: str):
    assert box.exec_cell(code, "attack") is None
    return box.call("result", (), {})


def test_memory_budget_covers_all_processes_of_a_submission():
    # finding 11: six children of 400 MB each under a 1 GiB budget for the whole submission
    cfg = SandboxConfig(call_timeout=20.0, cell_timeout=30.0, memory_bytes=1 << 30)
    code = ("import os\nkids = []\nfor _ in range(6):\n    pid = os.fork()\n    if pid == 0:\n"
            "        b = bytearray(400 << 20)\n        b[::4096] = b'x' * len(b[::4096])\n"
            "        os._exit(0)\n    kids.append(pid)\n"
            "codes = [os.waitpid(k, 0)[1] for k in kids]\n"
            "def result():\n    return [c & 0x7f for c in codes], open('/proc/self/limits').read()\n")
    with Sandbox(cfg) as box:
        signals, limits_text = _limits(box, code)
        if box.cgroup is not None:  # the whole group is bounded: the OOM killer stopped some
            assert 9 in signals, signals
        else:  # no cgroup here: each process is bounded, and so is the number of processes
            line = next(x for x in limits_text.splitlines() if x.startswith("Max processes"))
            assert line.split()[2] != "unlimited", line


def test_process_budget_and_nothing_survives_the_sandbox():
    # finding 11: no cap on processes; and a daemon that escapes the process group
    cfg = SandboxConfig(call_timeout=20.0, cell_timeout=30.0)
    code = ("import os, time\nn = 0\ntry:\n    for _ in range(2000):\n        if os.fork() == 0:\n"
            "            os.setsid()\n            time.sleep(300)\n            os._exit(0)\n        n += 1\n"
            "except OSError:\n    pass\n"
            "def result():\n    return n\n")
    box = Sandbox(cfg).start()
    group = box.cgroup
    try:
        started = _limits(box, code)
        assert started < cfg.max_pids * 8
        seen = group.pids() if group is not None else sandbox._descendants(box.proc.pid)
        assert len(seen) > started  # the daemons are alive, inside the group, before the end
    finally:
        box.close()
    if group is not None:
        assert group.pids() == [] and not any(d.exists() for d in group.dirs)
    time.sleep(0.2)
    assert [p for p in seen if _running(p)] == []


def _running(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_tmp_and_shm_are_small_private_tmpfs():
    cfg = SandboxConfig(tmp_bytes=32 << 20, shm_bytes=16 << 20)
    code = ("import os\nsizes = {}\nfor d in ('/tmp', '/dev/shm'):\n    n = 0\n    try:\n"
            "        with open(d + '/fill', 'wb') as f:\n            for _ in range(200):\n"
            "                f.write(b'0' * (1 << 20)); f.flush(); n += 1\n    except OSError:\n        pass\n"
            "    sizes[d] = n\n    os.remove(d + '/fill')\n"
            "def result():\n    return sizes\n")
    with Sandbox(cfg) as box:
        sizes = _limits(box, code)
    assert sizes["/tmp"] <= 32 and sizes["/dev/shm"] <= 16, sizes


def test_reference_paths_never_index_into_arrays():
    # second red team: a list as a path step fancy-indexed an argument array, a copy of any
    # size made before the budget could count it
    args = (np.zeros((3, 30)),)
    with pytest.raises(ProtocolError, match="bad reference path"):
        decode({"t": "ref", "p": ["a", 0, [0] * 1000]}, [], resolve=lambda p: sandbox.resolve_path(args, {}, p))
    with pytest.raises(ProtocolError, match="missing argument"):
        decode({"t": "ref", "p": ["a", 0, 0]}, [], resolve=lambda p: sandbox.resolve_path(args, {}, p))
    state = ({"m": np.ones(2)},)
    got = decode({"t": "ref", "p": ["a", 0, "m"]}, [], resolve=lambda p: sandbox.resolve_path(state, {}, p))
    assert got is state[0]["m"]


def test_callbacks_take_only_small_arguments():
    # second red team: the grader's callbacks (A @ w - b) broadcast whatever shape comes
    with Sandbox(FAST) as box:
        box.exec_cell("import numpy as np\ndef big(f):\n    return f(np.zeros((200_000, 2, 1)))\n"
                      "def small(f):\n    return f(np.ones(3))\n", "cell")
        assert box.call("small", (lambda w: float(w.sum()),), {}) == 3.0
        with pytest.raises(SandboxFault, match="larger than"):
            box.call("big", (lambda w: w.sum(),), {})
