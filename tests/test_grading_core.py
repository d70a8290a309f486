"""Tests of the shared check engine (course_lib.grading.core) and of the contract every
assignment grading module must meet (run for each module present in course_lib/grading)."""
from __future__ import annotations

import builtins
import copy
import importlib
import importlib.util
import inspect
import math

import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading import core
from course_lib.grading.core import Case, CheckFailed, Tolerance, Variant

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import grade as pipeline  # noqa: E402

# ----------------------------------------------------------------------------- engine


def _double(x):
    return 2 * x


def _triple(x):
    return 3 * x


def _double_in_place(x):
    x *= 2
    return x


CASES = [Case("x = [1, 2]", (np.array([1.0, 2.0]),)), Case("x = [[3]]", (np.array([[3.0]]),))]
WRONG = [Variant("triple", "multiplying by 3", _triple, frozenset({"double"}))]


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


def test_correct_function_passes_and_counts_cases():
    assert core.check_cases(_double, _double, CASES, name="double") == 2


def test_failure_message_shows_case_values_error_and_variant():
    with pytest.raises(CheckFailed) as err:
        core.check_cases(_triple, _double, CASES, name="double", variants=WRONG)
    msg = str(err.value)
    assert "case 'x = [1, 2]'" in msg
    assert "expected 2, got 3" in msg
    assert "relative error 5.00e-01" in msg
    assert "This matches a known mistake: multiplying by 3" in msg


def test_unknown_mistake_is_not_named():
    with pytest.raises(CheckFailed) as err:
        core.check_cases(lambda x: x + 1, _double, CASES, name="double", variants=WRONG)
    assert "known mistake" not in str(err.value)


def test_not_implemented_and_exceptions_become_feedback():
    def stub(x):
        raise NotImplementedError()

    def broken(x):
        return x @ np.ones(5)

    with pytest.raises(CheckFailed, match="not implemented yet"):
        core.check_cases(stub, _double, CASES, name="double")
    with pytest.raises(CheckFailed, match="raised an error on case 'x = \\[1, 2\\]': ValueError"):
        core.check_cases(broken, _double, CASES, name="double")
    with pytest.raises(CheckFailed, match="is not a function"):
        core.check_cases(None, _double, CASES, name="double")


def test_structure_shape_dtype_and_nonfinite_mismatches():
    tol = Tolerance()
    assert "missing key 'v'" in core.first_mismatch({"v": 1.0}, {"m": 1.0}, tol)
    assert "expected a tuple of 2 items" in core.first_mismatch((1.0, np.ones(2)), np.ones(2), tol)
    assert "expected shape (2,), got shape (3,)" in core.first_mismatch(np.ones(2), np.ones(3), tol)
    assert "expected a finite value" in core.first_mismatch(np.ones(2), np.array([1.0, np.nan]), tol)
    assert "absolute error 1.00e-03" in core.first_mismatch(np.zeros(1), np.array([1e-3]), tol)
    assert core.first_mismatch(3, 4, tol) == "output: expected 3, got 4"
    assert core.first_mismatch(np.ones(2), np.ones(2) + 1e-12, tol) is None


def test_check_dtype_requires_the_reference_dtype():
    cases = [Case("float32", (np.ones(2, np.float32),))]
    core.check_cases(_double, _double, cases, name="d", check_dtype=True)
    with pytest.raises(CheckFailed, match="expected dtype float32"):
        core.check_cases(lambda x: 2 * x.astype(np.float64), _double, cases, name="d", check_dtype=True)


def test_no_mutation_detects_in_place_changes_and_names_the_variant():
    variants = [Variant("in_place", "doubling x in place", _double_in_place, frozenset())]
    core.check_cases(_double, _double, CASES, name="d", no_mutation=True)
    with pytest.raises(CheckFailed) as err:
        core.check_cases(_double_in_place, _double, CASES, name="d", no_mutation=True,
                         variants=variants)
    assert "changed its input argument 1" in str(err.value)
    assert "doubling x in place" in str(err.value)
    # The case's own arrays are never touched, whatever the function does.
    assert np.array_equal(CASES[0].args[0], [1.0, 2.0])


def test_make_check_returns_none_and_uses_the_driver():
    def twice(fn, x):  # apply fn two times: 4x for the reference
        return fn(fn(x))

    check, check_hidden = core.make_check("d", _double, CASES[:1], lambda: CASES,
                                          variants=WRONG, driver=twice)
    assert check(_double) is None and check_hidden(_double) is None
    with pytest.raises(CheckFailed, match="multiplying by 3"):
        check_hidden(_triple)


def test_variant_source_renames_the_function():
    src = core.variant_source(WRONG[0], "double")
    namespace = {}
    exec(src, namespace)
    assert src.startswith("def double(x):")
    assert namespace["double"](np.array(2.0)) == 6.0
    with pytest.raises(ValueError, match="top-level def or class"):
        core.variant_source(Variant("lam", "a lambda", lambda x: x), "f")


# ----------------------------------------------------------------------------- every module

MODULES = [aid for aid in core.ASSIGNMENTS
           if importlib.util.find_spec(f"course_lib.grading.{aid}") is not None]


def _stub(*args, **kwargs):
    raise NotImplementedError()


# Behaviour (reference passes, stub and variants fail exactly as declared and are named)
# for every assignment module; tests/test_grading_<id>.py test each module's references.
OWN = MODULES


@pytest.fixture(params=MODULES)
def grader(request):
    return importlib.import_module(f"course_lib.grading.{request.param}")


@pytest.fixture(params=OWN)
def own_grader(request):
    return importlib.import_module(f"course_lib.grading.{request.param}")


def test_module_declares_checks_functions_and_check_pairs(grader):
    assert set(grader.CHECKS) == set(grader.FUNCTIONS)
    assert all(isinstance(p, int) and p > 0 for p in grader.CHECKS.values())
    for check_id, fn_name in grader.FUNCTIONS.items():
        assert callable(getattr(grader, f"check_{check_id}"))
        assert callable(getattr(grader, f"check_{check_id}_hidden"))
        assert callable(getattr(grader, fn_name)), f"reference {fn_name} missing"
    assert set(grader.VARIANTS) <= set(grader.FUNCTIONS.values())


def test_reference_passes_every_check(own_grader):
    grader = own_grader
    for check_id, fn_name in grader.FUNCTIONS.items():
        ok, msg = core.run_check(grader, check_id, getattr(grader, fn_name))
        assert ok, f"{check_id}: {msg}"


def test_stub_fails_every_check_with_a_clear_message(own_grader):
    grader = own_grader
    for check_id in grader.CHECKS:
        ok, msg = core.run_check(grader, check_id, _stub)
        assert not ok and "not implemented yet" in msg, check_id


def test_each_variant_fails_exactly_its_checks_and_is_named(own_grader):
    grader = own_grader
    problems = []
    for fn_name, variants in grader.VARIANTS.items():
        for v in variants:
            assert v.fails and v.fails <= {c for c, f in grader.FUNCTIONS.items() if f == fn_name}
            failed = core.failing_checks(grader, fn_name, v.fn)
            if set(failed) != set(v.fails):
                problems.append(f"{fn_name}:{v.id} fails {sorted(failed)}, declared {sorted(v.fails)}")
            for check_id, msg in failed.items():
                if v.description not in msg:
                    problems.append(f"{fn_name}:{v.id} not named by {check_id}: {msg[:200]}")
    assert not problems, "\n".join(problems)


def test_variants_are_self_contained_top_level_defs(grader):
    allowed = {"np", "math", "copy", "torch", "F"}  # the e2e test imports these before a variant
    for fn_name, variants in grader.VARIANTS.items():
        for v in variants:
            used = pipeline._global_names(v.fn)
            if not inspect.isclass(v.fn):
                assert not inspect.getclosurevars(v.fn).nonlocals, f"{v.id} is a closure"
            assert used <= allowed, f"{v.id} uses {used - allowed}"
            namespace = {"np": np, "math": math, "copy": copy, "__builtins__": builtins}
            if "torch" in used:
                namespace["torch"] = importlib.import_module("torch")
            if "F" in used:
                namespace["F"] = importlib.import_module("torch.nn.functional")
            exec(core.variant_source(v, fn_name), namespace)
            assert inspect.signature(namespace[fn_name]) == inspect.signature(getattr(grader, fn_name))


def test_variant_ids_are_unique_per_function(grader):
    for fn_name, variants in grader.VARIANTS.items():
        ids = [v.id for v in variants]
        assert len(ids) == len(set(ids)), fn_name


# ----------------------------------------------------------------------------- feedback wording


def test_feedback_reads_as_numbers_and_names_only_the_mistake_made():
    from course_lib.grading import a3_adaptive, a4_adam_family

    def nan_adagrad(w, g, state, lr=1e-2, eps=1e-10):
        G = state["G"] + g * g
        return w * np.nan, {"G": G}

    _, msg = core.run_check(a3_adaptive, "adagrad", nan_adagrad)
    assert "expected a finite value" in msg and ", got nan" in msg and "np.float64" not in msg

    def float64_step(w, g, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        w_new, st = a3_adaptive.adam_step(w.astype(np.float64), g.astype(np.float64),
                                           {k: np.asarray(v, np.float64) if k != "t" else v
                                            for k, v in state.items()}, lr, beta1, beta2, eps)
        return w_new, st

    ok, msg = core.run_check(a3_adaptive, "adam_contract", float64_step)
    assert not ok and "expected dtype float32" in msg and "tolerance" not in msg

    # a restart index from a floating-point log: wrong at some restarts only, so it is not
    # "the restart comes one step late" (which is wrong at every restart)
    import math

    def sgdr_float_log(k, lr, T_0, T_mult=1, eta_min=0.0):
        if T_mult == 1:
            t_cur, t_i = k % T_0, T_0
        else:
            i = int(math.log(k / T_0 * (T_mult - 1) + 1, T_mult))
            start = T_0 * (T_mult**i - 1) // (T_mult - 1)
            t_cur, t_i = k - start, T_0 * T_mult**i
        return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    ok, msg = core.run_check(a4_adam_family, "sgdr_schedule", sgdr_float_log)
    assert not ok and "known mistake" not in msg

    # a mistake that raises is named by the variant that raises the same way
    variant = next(v for v in a4_adam_family.VARIANTS["adamw_step"] if v.id == "adamw_t_not_incremented")
    ok, msg = core.run_check(a4_adam_family, "adamw_update", variant.fn)
    assert not ok and "ZeroDivisionError" in msg and "never incremented" in msg


def test_policy_message_reads_as_a_sentence():
    from course_lib.grading import policy

    found = policy.static_violations("from course_lib.optim import adam_step\n", ["course_lib.optim"], [])
    assert found and found[0].startswith("line 1 imports course_lib.optim")
