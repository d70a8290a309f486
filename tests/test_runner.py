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
