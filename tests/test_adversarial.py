"""Adversarial submissions (tests/adversarial/, see its README): each crafted notebook is
graded by the trusted runner (repair -> sandbox -> checks in this process) and must get
exactly its expected score; nothing it does may touch the course, the gradebook or the
grader's environment."""
from __future__ import annotations

import copy
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import repair, results, runner

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "adversarial"
sys.path.insert(0, str(ROOT / "tools"))
import grade as grade_tool  # noqa: E402

MODULES = {}


def module(aid):
    if aid not in MODULES:
        import importlib

        MODULES[aid] = importlib.import_module(f"course_lib.grading.{aid}")
    return MODULES[aid]


def parse(path: Path) -> dict:
    head = {"assignment": "a3_adaptive", "target": "none"}
    if path.suffix == ".ipynb":  # a literal file: its header is in <name>.expect
        path = path.with_suffix(".expect")
    for line in path.read_text().splitlines():
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        if " " in key.strip():
            break
        head[key.strip()] = value.strip()
    return head


def case_files():
    return sorted(p for p in CASES.iterdir() if p.suffix in (".py", ".ipynb"))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course root with the releases, a gradebook, a seed file and the solutions, so that
    the crafted code has real targets to attack."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "assignments", root / "assignments")
    shutil.copytree(ROOT / "solutions", root / "solutions")
    (root / "grading").mkdir()
    (root / "grading" / "gradebook.db").write_bytes(b"SQLite format 3\0 sentinel")
    (root / "grading" / "grading_seed").write_text("777\n")
    secret = root / "grading" / "root_only.txt"  # a file only its owner (root here) may read
    secret.write_text("SECRET-ROOT-ONLY")
    secret.chmod(0o600)
    return root


def wrong_adam(cell):
    bad = copy.deepcopy(cell)
    bad.id = "duplicated-adam-step"
    bad.source = ("def adam_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                  "    return w, state\n")
    return bad


def build(case: Path, head: dict, course: Path, out: Path) -> Path:
    aid = head["assignment"]
    if case.suffix == ".ipynb":
        shutil.copy(case, out)
        return out
    rel = nbformat.read(course / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    src = nbformat.read(course / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    nb = grade_tool.fill_solutions(rel, src)
    code = case.read_text().replace("GRADER_ROOT", str(course)).replace("GRADER_REPO", str(ROOT))
    code, _, extra = code.partition("# ---- answer ")
    if extra:  # a second cell: "# ---- answer <function>" then the code of that answer
        fn, _, body = extra.partition("\n")
        cell = next(c for c in nb.cells if repair.is_answer_cell(c) and fn.strip() in repair.defined_names(c.source))
        cell.source = body
    target = head["target"]
    if target == "add":
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(code))
    elif target != "none":
        cell = next(c for c in nb.cells if repair.is_answer_cell(c) and target in repair.defined_names(c.source))
        cell.source = code
    for t in filter(None, (s.strip() for s in head.get("transform", "").split(","))):
        k = next((i for i, c in enumerate(nb.cells) if c.source.startswith("def adam_step")), None)
        if t == "strip_metadata":
            nb.metadata = {}
            for c in nb.cells:
                c.metadata = {}
        elif t == "reverse":
            nb.cells = nb.cells[::-1]
        elif t == "retype":
            for i, c in enumerate(nb.cells):
                if repair.is_answer_cell(c) and c.cell_type == "code":
                    c.cell_type = "raw" if i % 2 else "markdown"
                    c.pop("outputs", None)
                    c.pop("execution_count", None)
        elif t == "duplicate_wrong_first":
            nb.cells.insert(k, wrong_adam(nb.cells[k]))
        elif t == "duplicate_wrong_last":
            nb.cells.insert(k + 1, wrong_adam(nb.cells[k]))
        elif t != "nbformat2":
            raise ValueError(f"{case.name}: unknown transform {t!r}")
    data = json.loads(nbformat.writes(nb))
    if "nbformat2" in head.get("transform", ""):
        data["nbformat"] = 2
    out.write_text(json.dumps(data))
    return out


def expected(head: dict) -> dict[str, float]:
    mod = module(head["assignment"])
    zero_fns = set(head.get("expect-zero", "").split())
    zero_checks = set(head.get("expect-checks-zero", "").split())
    assert zero_fns <= set(mod.FUNCTIONS.values()) | {"all"}, zero_fns
    assert zero_checks <= set(mod.CHECKS), zero_checks
    return {cid: 0.0 if ("all" in zero_fns or mod.FUNCTIONS[cid] in zero_fns or cid in zero_checks)
            else float(pts) for cid, pts in mod.CHECKS.items()}


def snapshot(course: Path) -> dict:
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*")) if p.is_file()}


def test_there_are_enough_cases():
    files = case_files()
    assert len(files) >= 25
    assert len({parse(p)["assignment"] for p in files if p.suffix == ".py"}) >= 5


@pytest.mark.parametrize("case", case_files(), ids=lambda p: p.stem)
def test_adversarial_submission(case, course, tmp_path):
    head = parse(case)
    aid = head["assignment"]
    sub = tmp_path / "submitted" / "mallory" / aid
    sub.mkdir(parents=True)
    path = build(case, head, course, sub / f"{aid}.ipynb")
    config = runner.GradingConfig(root=str(course), seed=777, hidden=(str(tmp_path / "submitted"),),
                                  limits=runner.limited(call_timeout=2.0, cell_timeout=4.0, memory_bytes=3 << 30))
    before_files, before_env = snapshot(course), dict(os.environ)
    result = runner.grade_submission(path, aid, config)
    assert result.student == "mallory"
    want = expected(head)
    assert result.scores() == want, {k: p.message[:300] for k, p in result.parts.items() if p.score != want[k]}
    for spec in filter(None, [head.get("expect-message")]):
        check_id, _, text = spec.partition(":")
        assert text.strip() in result.parts[check_id.strip()].message, result.parts[check_id.strip()].message
    if head.get("expect-note"):
        assert any(head["expect-note"] in n for n in result.notes), result.notes
    if head.get("max-seconds"):
        assert result.seconds <= float(head["max-seconds"]), result.seconds
    if head.get("forbid-text"):
        texts = [p.message for p in result.parts.values()] + result.notes + list(result.cell_errors.values())
        assert not any(head["forbid-text"] in t for t in texts), [t for t in texts if head["forbid-text"] in t]
    if head.get("expect-error"):
        assert head["expect-error"] in (result.error or ""), result.error
    else:
        assert result.error is None
        assert result.isolated, "bubblewrap must be installed for this suite (apt-get install -y bubblewrap)"
    # nothing outside the sandbox changed
    assert snapshot(course) == before_files
    assert {k: os.environ.get(k) for k in before_env} == before_env
    assert not (ROOT / "HACKED").exists()
    if head.get("twice") == "yes":
        again = runner.grade_submission(path, aid, config)
        assert again.scores() == result.scores()
        assert {k: p.message for k, p in again.parts.items()} == {k: p.message for k, p in result.parts.items()}


def _csv_scores(path):
    import csv

    with open(path) as f:
        return {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(f)}


def test_end_to_end_with_nbgrader(tmp_path):
    """The instructor's command (tools/grade.py grade A -j 2: parallel sandboxed grading,
    then nbgrader's autograde, feedback and export) with the course's nbgrader_config.py:
    stripped metadata is repaired, a rewritten test cell and a patched np.allclose do not
    help, a file that is not JSON gets a zero with its reason and keeps its timestamp."""
    aid = "a3_adaptive"
    release, source = grade_tool.setup_course(aid, tmp_path)
    assert "nbgrader_adapter.SandboxedAutograde" in (tmp_path / "nbgrader_config.py").read_text()
    good = grade_tool.fill_solutions(release, source)
    stripped = copy.deepcopy(good)
    for c in stripped.cells:
        c.metadata = {}
    cheat = copy.deepcopy(good)
    for c in cheat.cells:
        if c.source.startswith("def adagrad_step"):
            c.source = ("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                        "def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):\n    return w, state\n")
        if c.metadata.get("nbgrader", {}).get("grade_id") == "adagrad":
            c.source = "pass"
    # Finding 7 and 13: lone surrogates (in an exception message, in markdown, in metadata)
    # made nbgrader fail writing the autograded notebook and stop the class; student
    # markdown reached the feedback as live HTML.
    eve = copy.deepcopy(good)
    eve.metadata["evil"] = "\ud800"
    for c in eve.cells:
        if c.source.startswith("def adagrad_step"):
            c.source = ("def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):\n"
                        "    raise ValueError('bad \\ud800 \\x1b[31m <b>bold</b>')\n")
            c.metadata["evil"] = "\udfff"
        if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade_id") == "q_scale_invariance":
            # and (red team, grading v2) a javascript: link, a tracking image, a reference
            # definition, and 0.96 M characters (under the cell limit) of a pattern nbconvert's
            # markdown filter renders in quadratic time (hours at the file limits)
            c.source = ("<script>alert(1)</script><img src=x onerror=alert(2)> \ud800 $a < b$\n\n"
                        "[see](javascript:alert(3)) ![](https://attacker.example/p.png?who=eve)\n\n"
                        "[r]: javascript:alert(4)\n\n" + "\\begin{}" * 120_000)
    eve_dir = tmp_path / "grading" / "submitted" / "eve" / aid
    eve_dir.mkdir(parents=True)
    (eve_dir / f"{aid}.ipynb").write_text(json.dumps(json.loads(nbformat.writes(eve, ensure_ascii=True))))
    grade_tool.submit(tmp_path, aid, "alice", stripped)
    grade_tool.submit(tmp_path, aid, "bob", release)
    grade_tool.submit(tmp_path, aid, "dave", cheat)
    bad = tmp_path / "grading" / "submitted" / "carol" / aid
    bad.mkdir(parents=True)
    (bad / f"{aid}.ipynb").write_text("{not json")
    (bad / "timestamp.txt").write_text("2026-01-02 03:04:05.000000 UTC")
    (tmp_path / "grading" / "grading_seed").write_text("99\n")
    total = float(sum(module(aid).CHECKS.values()))
    import time

    t0 = time.monotonic()
    csv_path = grade_tool.grade(aid, tmp_path, jobs=2)
    assert time.monotonic() - t0 < 240
    assert _csv_scores(csv_path) == {"alice": total, "bob": 0.0, "carol": 0.0,
                                     "dave": total - module(aid).CHECKS["adagrad"],
                                     "eve": total - module(aid).CHECKS["adagrad"]}
    eve_html = (tmp_path / "grading" / "feedback" / "eve" / aid / f"{aid}.html").read_text()
    assert "bad \ufffd" in eve_html and "&lt;b&gt;bold" in eve_html  # the message, made safe
    assert "<script>alert" not in eve_html and "onerror=alert" not in eve_html.replace("&lt;img src=x onerror=alert", "")
    assert "&lt;script&gt;alert(1)" in eve_html
    assert 'href="javascript' not in eve_html.lower() and 'src="https://attacker' not in eve_html
    assert "characters cut" in eve_html
    html = (tmp_path / "grading" / "feedback" / "bob" / aid / f"{aid}.html").read_text()
    assert "adam_step (m, v and t over several steps) is not implemented yet" in html
    assert "HIDDEN TESTS" not in html and "check_adam_moments_hidden" not in html
    carol = (tmp_path / "grading" / "feedback" / "carol" / aid / f"{aid}.html").read_text()
    assert "not valid JSON" in carol
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(tmp_path / "grading" / "gradebook.db")) as gb:
        assert str(gb.find_submission(aid, "carol").timestamp).startswith("2026-01-02 03:04:05")


def test_any_executor_and_reproducible_scores(course, tmp_path):
    """grade_many accepts any submit-style executor (here threads, as a Dask client executor
    would run tasks); results come back in input order and equal the serial ones."""
    import concurrent.futures as cf

    aid = "a3_adaptive"
    paths = []
    for name in ("os_exit", "mutate_inputs", "stripped_metadata", "nan_outputs"):
        case = CASES / f"{name}.py"
        out = tmp_path / name / aid / f"{aid}.ipynb"
        out.parent.mkdir(parents=True)
        paths.append((name, build(case, parse(case), course, out)))
    config = runner.GradingConfig(root=str(course), seed=5, limits=runner.limited(call_timeout=2.0))
    serial = runner.grade_many(paths, aid, config)
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        threaded = runner.grade_many(paths, aid, config, executor=pool)
    assert [r.student for r in threaded] == [n for n, _ in paths]
    assert [r.scores() for r in threaded] == [r.scores() for r in serial]
    assert [r.scores() for r in serial] == [expected(parse(CASES / f"{n}.py")) for n, _ in paths]


def test_pregrading_with_forked_workers_stores_results(tmp_path):
    """runner.pregrade with 2 workers in a process without torch (so they are forked)
    grades and stores results under the key nbgrader will look up."""
    import subprocess

    aid = "a3_adaptive"
    shutil.copytree(ROOT / "assignments" / aid, tmp_path / "assignments" / aid)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "grading").mkdir()
    (tmp_path / "grading" / "grading_seed").write_text("31\n")
    release = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    source = nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    grade_tool.submit(tmp_path, aid, "ref", grade_tool.fill_solutions(release, source))
    grade_tool.submit(tmp_path, aid, "stub", release)
    grade_tool.submit(tmp_path, aid, "exits", exiting_adagrad(release, source))
    out = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = ("import json, sys\nfrom course_lib.grading import nbgrader_adapter, runner\n"
            f"root, out = {str(tmp_path)!r}, {str(out)!r}\n"
            "rs = runner.pregrade(root, 'a3_adaptive', 2, config=nbgrader_adapter.grading_config(root))\n"
            "assert 'torch' not in sys.modules\n"
            "open(out, 'w').write(json.dumps([r.to_dict() for r in rs]))\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, timeout=600)
    got = {r["student"]: r for r in json.loads(out.read_text())}
    total = float(sum(module(aid).CHECKS.values()))
    assert got["ref"]["score"] == total and got["stub"]["score"] == 0.0
    assert got["exits"]["score"] == total - module(aid).CHECKS["adagrad"]
    assert "exited with status 3" in got["exits"]["parts"]["adagrad"]["message"]
    from course_lib.grading import nbgrader_adapter

    config = nbgrader_adapter.grading_config(tmp_path)
    assert config.seed == 31
    for student, r in got.items():
        key = results.result_key(runner.submission_path(tmp_path, student, aid), aid, config)
        stored = results.stored_result(student, aid, key, tmp_path)
        assert stored is not None and stored.scores() == {k: p["score"] for k, p in r["parts"].items()}


def exiting_adagrad(release, source):
    """The reference solution whose adagrad_step ends the process."""
    nb = grade_tool.fill_solutions(release, source)
    for cell in nb.cells:
        if cell.source.startswith("def adagrad_step"):
            cell.source = ("import os\n\n\ndef adagrad_step(w, g, state, lr=1e-2, eps=1e-10):\n"
                           "    os._exit(3)\n")
    return nb


def test_grading_on_a_dask_cluster(course, tmp_path):
    """grade_many on a Dask cluster (a LocalCluster of two worker processes here; a real
    scheduler in INSTRUCTORS.md, section 3): the same scores as serial grading, in order."""
    from distributed import Client, LocalCluster

    aid = "a3_adaptive"
    paths = []
    for name in ("mutate_inputs", "self_consistent_nothing", "stripped_metadata"):
        case = CASES / f"{name}.py"
        out = tmp_path / name / aid / f"{aid}.ipynb"
        out.parent.mkdir(parents=True)
        paths.append((name, build(case, parse(case), course, out)))
    config = runner.GradingConfig(root=str(course), seed=5, limits=runner.limited(call_timeout=4.0))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit=0) as cluster, Client(cluster) as client:
        results = runner.grade_many(paths, aid, config, executor=client.get_executor())
    assert [r.student for r in results] == [n for n, _ in paths]
    assert [r.scores() for r in results] == [expected(parse(CASES / f"{n}.py")) for n, _ in paths]


def test_submission_time_budget(course, tmp_path):
    """Every call sleeping just under its limit used to cost 3 x 20 s a call with no cap on
    the whole submission: now the submission stops at its budget, with the reason."""
    aid = "a3_adaptive"
    case = tmp_path / "slow.py"
    case.write_text("# assignment: a3_adaptive\n# target: adagrad_step\n"
                    "import time\n"
                    "def adagrad_step(w, g, state, lr=1e-2, eps=1e-10):\n"
                    "    time.sleep(1.5)\n    return w, state\n")
    out = tmp_path / "s" / aid / f"{aid}.ipynb"
    out.parent.mkdir(parents=True)
    build(case, parse(case), course, out)
    config = runner.GradingConfig(root=str(course), seed=5, submission_timeout=6.0,
                                  limits=runner.limited(call_timeout=1.0))
    result = runner.grade_submission(out, aid, config)
    assert result.seconds < 6.0 + 3 * 1.0 + 5  # the budget, one call past it, start-up
    budget = [p.message for p in result.parts.values() if "time budget" in p.message]
    assert budget and result.score < result.max_score


def test_a_submission_nbgrader_cannot_record_does_not_stop_the_class(tmp_path, monkeypatch):
    """If nbgrader fails on one submission (here: writing its autograded notebook raises),
    the others are still recorded, fed back and exported, and the failure is named with its
    reason (nbgrader runs in this process, through its API)."""
    aid = "a3_adaptive"
    release, source = grade_tool.setup_course(aid, tmp_path)
    good = grade_tool.fill_solutions(release, source)
    for who in ("ann", "zed"):
        grade_tool.submit(tmp_path, aid, who, good)
    real = runner.autograded_notebook

    def fails_for_zed(result, release_path):
        if result.student == "zed":
            raise OSError("disk full (simulated)")
        return real(result, release_path)

    monkeypatch.setattr(runner, "autograded_notebook", fails_for_zed)
    if not grade_tool._in_gradebook(aid, tmp_path):
        grade_tool.release([aid], root=tmp_path)
    failed = grade_tool.autograde(aid, tmp_path, jobs=1)
    assert list(failed) == ["zed"] and "disk full (simulated)" in failed["zed"]
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(tmp_path / "grading" / "gradebook.db")) as gb:
        assert gb.find_submission(aid, "ann").score == float(sum(module(aid).CHECKS.values()))
