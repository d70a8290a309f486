"""course_lib.grading.runner's stored results: the key, the round trip, and how a
concurrent `nbgrader autograde` waits for a pre-grading run (no sandbox needed here)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from course_lib.grading import runner

ROOT = Path(__file__).resolve().parents[1]
AID = "a3_adaptive"


def _course(tmp_path) -> tuple[runner.GradingConfig, Path]:
    shutil.copytree(ROOT / "assignments" / AID, tmp_path / "assignments" / AID)
    sub = runner.submission_path(tmp_path, "ann", AID)
    sub.parent.mkdir(parents=True)
    sub.write_text('{"cells": [], "nbformat": 4}')
    return runner.GradingConfig(root=str(tmp_path), seed=7), sub


def _result(score: float) -> runner.Result:
    r = runner.Result(student="ann", assignment=AID, path="p", notes=["a note"], notebook="{}")
    r.parts["adagrad"] = runner.PartResult("adagrad", 2.0, score, "why")
    return r


def test_key_changes_with_everything_a_result_depends_on(tmp_path):
    config, sub = _course(tmp_path)
    key = runner.result_key(sub, AID, config)
    assert runner.result_key(sub, AID, config) == key  # deterministic
    # a copy of the course elsewhere gives the same key (paths are not part of it)
    other, _ = _course(tmp_path / "copy")
    assert runner.result_key(runner.submission_path(tmp_path / "copy", "ann", AID), AID, other) == key
    assert runner.result_key(sub, AID, runner.GradingConfig(root=str(tmp_path), seed=8)) != key
    assert runner.result_key(sub, AID, runner.GradingConfig(root=str(tmp_path), seed=7,
                                                            call_timeout=5.0)) != key
    sub.write_text('{"cells": [], "nbformat": 4} ')  # a resubmission
    assert runner.result_key(sub, AID, config) != key


def test_stored_result_round_trip_and_stale_key(tmp_path):
    config, sub = _course(tmp_path)
    key = runner.result_key(sub, AID, config)
    runner.store_result(_result(1.5), key, tmp_path)
    back = runner.stored_result("ann", AID, key, tmp_path)
    assert back.scores() == {"adagrad": 1.5} and back.parts["adagrad"].message == "why"
    assert back.notes == ["a note"] and back.notebook == "{}" and back.max_score == 2.0
    assert runner.stored_result("ann", AID, "another key", tmp_path) is None
    assert runner.stored_result("bob", AID, key, tmp_path) is None


def test_waits_only_while_a_live_pregrading_run_is_announced(tmp_path):
    config, sub = _course(tmp_path)
    key = runner.result_key(sub, AID, config)
    assert runner.wait_for_result("ann", AID, key, tmp_path) is None  # nothing announced
    with runner.announce_pregrading(tmp_path, AID):
        late = threading.Timer(0.5, runner.store_result, (_result(2.0), key, tmp_path))
        late.start()
        t0 = time.monotonic()
        got = runner.wait_for_result("ann", AID, key, tmp_path, timeout=30)
        assert got is not None and got.score == 2.0 and time.monotonic() - t0 >= 0.4
    assert not (tmp_path / "grading" / "results" / AID / ".pregrading").exists()
    # a marker left by a grading run that was killed does not make anyone wait
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    marker = tmp_path / "grading" / "results" / AID / ".pregrading"
    marker.write_text(dead)
    t0 = time.monotonic()
    assert runner.wait_for_result("bob", AID, key, tmp_path, timeout=30) is None
    assert time.monotonic() - t0 < 5
    marker.write_text(str(os.getpid()))  # alive, but the wait is bounded
    assert runner.wait_for_result("bob", AID, key, tmp_path, timeout=0.3) is None
