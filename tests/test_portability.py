"""Results that must not depend on the CPU: the numeric tests and the numerically sensitive
chapters, run again on NumPy's, OpenBLAS's and PyTorch's plainest kernels.

Each library picks SIMD kernels for the machine it runs on, and different kernels round
differently. A chapter that compares two floats exactly, or a solver that stops on a
threshold one machine happens to meet, passes where it was written and fails on a reader's
machine. ``tools/reduced_simd.py`` switches the run-time dispatch off (see its docstring), so
such a dependence fails here, in ``make test``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REDUCED = [sys.executable, str(ROOT / "tools" / "reduced_simd.py")]

# The test modules whose assertions are numerical (tolerances against torch.optim, known
# minima, numerical gradients).
NUMERIC_MODULES = ["test_optim", "test_torch_optim", "test_surfaces", "test_schedules",
                   "test_gradcheck", "test_layers", "test_models", "test_train",
                   "test_gpu"]

# Chapters whose cells assert agreement to a few ulps or stop iterations on tolerances:
# gradient checks (1, 2), the optimizers against torch.optim (6-9), batch norm against
# torch (11), the equation summary checked numerically (appendix).
SENSITIVE_CHAPTERS = ["01_learning_as_optimization", "02_gradient_descent", "06_adagrad",
                      "07_rmsprop_adadelta", "08_adam_family", "09_nadam", "11_batchnorm",
                      "appendix_equations"]


def test_reduced_environment_really_switches_the_kernels_off():
    probe = ("import json, numpy as np, torch\n"
             "from numpy._core import _multiarray_umath as u\n"
             "print(json.dumps({'numpy': [f for f in u.__cpu_dispatch__ if u.__cpu_features__[f]],"
             " 'torch': torch.backends.cpu.get_cpu_capability()}))\n")
    out = subprocess.run(REDUCED + [sys.executable, "-c", probe], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["numpy"] == [], f"NumPy still dispatches {seen['numpy']}"
    assert seen["torch"] == "DEFAULT"
    import reduced_simd as tool
    # On a machine with any dispatched feature, the tool must name it (else it did nothing).
    assert set(tool.dispatched_features()) <= set(
        tool.environment().get("NPY_DISABLE_CPU_FEATURES", "").split())


def test_numeric_modules_pass_on_plain_kernels():
    paths = [str(ROOT / "tests" / f"{m}.py") for m in NUMERIC_MODULES]
    proc = subprocess.run(REDUCED + [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist",
                                     "-p", "no:cacheprovider", *paths],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("chapter", SENSITIVE_CHAPTERS)
def test_sensitive_chapter_executes_on_plain_kernels(chapter):
    md = ROOT / "chapters" / f"{chapter}.md"
    proc = subprocess.run(REDUCED + [sys.executable, str(ROOT / "tools" / "shift_seeds.py"),
                                     "--by", "0", str(md)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
