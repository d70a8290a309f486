"""course_lib without PyTorch: the NumPy code works, the torch code says how to install it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Run in a fresh interpreter in which `import torch` fails, as on a machine without it.
NO_TORCH = "import sys; sys.modules['torch'] = None\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH + code], capture_output=True,
                          text=True, cwd=ROOT)


def test_numpy_modules_import_and_run_without_torch():
    proc = _run("import numpy as np\n"
                "from course_lib import (optim, schedules, surfaces, gradcheck, layers,"
                " models, train, data, plotting)\n"
                "w, s = optim.adam(lr=0.1).step(np.ones(2), np.ones(2),"
                " optim.adam(lr=0.1).init(np.ones(2)))\n"
                "print(w)\n")
    assert proc.returncode == 0, proc.stderr
    assert "0.9 0.9" in proc.stdout.replace("[", "").replace("]", "")


@pytest.mark.parametrize("module, feature", [
    ("course_lib.torch_optim", "course_lib.torch_optim"),
    ("course_lib.gpu", "course_lib.gpu"),
    ("course_lib.grading.a6_training", "Assignment a6"),
])
def test_torch_modules_raise_a_clear_import_error(module, feature):
    proc = _run(f"import {module}\n")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:") and feature in last and "pip install" in last, last
