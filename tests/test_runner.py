"""course_lib.grading.runner's stored results (the key, the round trip) and the grading
settings (no sandbox needed here)."""
from __future__ import annotations

import shutil
from pathlib import Path

from course_lib.grading import results, runner

ROOT = Path(__file__).resolve().parents[1]
AID = "a3_adaptive"


def _course(tmp_path) -> tuple[runner.GradingConfig, Path]:
    shutil.copytree(ROOT / "assignments" / AID, tmp_path / "assignments" / AID)
    sub = runner.submission_path(tmp_path, "ann", AID)
    sub.parent.mkdir(parents=True)
    sub.write_text('{"cells": [], "nbformat": 4}')
    return runner.GradingConfig(root=str(tmp_path), seed=7), sub


def _result(score: float) -> results.Result:
    r = results.Result(student="ann", assignment=AID, path="p", notes=["a note"], notebook="{}")
    r.parts["adagrad"] = results.PartResult("adagrad", 2.0, score, "why")
    return r


def test_key_changes_with_everything_a_result_depends_on(tmp_path):
    config, sub = _course(tmp_path)
    key = results.result_key(sub, AID, config)
    assert results.result_key(sub, AID, config) == key  # deterministic
    # a copy of the course elsewhere gives the same key (paths are not part of it)
    other, _ = _course(tmp_path / "copy")
    assert results.result_key(runner.submission_path(tmp_path / "copy", "ann", AID), AID, other) == key
    assert results.result_key(sub, AID, runner.GradingConfig(root=str(tmp_path), seed=8)) != key
    assert results.result_key(sub, AID, runner.GradingConfig(root=str(tmp_path), seed=7,
                                                            limits=runner.limited(call_timeout=5.0))) != key
    sub.write_text('{"cells": [], "nbformat": 4} ')  # a resubmission
    assert results.result_key(sub, AID, config) != key


def test_stored_result_round_trip_and_stale_key(tmp_path):
    config, sub = _course(tmp_path)
    key = results.result_key(sub, AID, config)
    results.store_result(_result(1.5), key, tmp_path)
    back = results.stored_result("ann", AID, key, tmp_path)
    assert back.scores() == {"adagrad": 1.5} and back.parts["adagrad"].message == "why"
    assert back.notes == ["a note"] and back.notebook == "{}" and back.max_score == 2.0
    assert results.stored_result("ann", AID, "another key", tmp_path) is None
    assert results.stored_result("bob", AID, key, tmp_path) is None


def test_every_grading_setting_is_documented_once():
    """The limits are defined once (dataclass fields with a default and a meaning), exposed
    as nbgrader settings, and listed in INSTRUCTORS.md's table."""
    from course_lib.grading import nbgrader_adapter

    table = (Path(__file__).resolve().parents[1] / "INSTRUCTORS.md").read_text()
    auto = nbgrader_adapter.SandboxedAutograde(call_timeout=3.5, memory_bytes=1 << 30, submission_timeout=7.0)
    config = auto.grading_config()
    assert config.limits.call_timeout == 3.5 and config.limits.memory_bytes == 1 << 30
    assert config.submission_timeout == 7.0
    for name, field in nbgrader_adapter.SETTINGS.items():
        assert auto.trait_metadata(name, "help") == field.metadata["help"]
        assert f"`{name}`" in table, f"INSTRUCTORS.md section 5 does not list {name}"
