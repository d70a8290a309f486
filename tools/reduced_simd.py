"""Run a command with NumPy, OpenBLAS and PyTorch on their plainest CPU code paths.

NumPy, its OpenBLAS and PyTorch each pick SIMD kernels for the CPU they run on (AVX-512,
AVX2 with FMA, ...), and different kernels round differently: a result that matches to
the last bit on one machine may not on a reader's. ``make test`` therefore runs the
numeric tests and the numerically sensitive chapters a second time through this tool, so
that such a dependence fails here rather than on someone else's machine. Usage::

    .venv/bin/python tools/reduced_simd.py .venv/bin/python -m pytest tests/test_optim.py
    .venv/bin/python tools/reduced_simd.py --print      # the environment it sets

The environment it adds:

- ``NPY_DISABLE_CPU_FEATURES``: every optimisation NumPy dispatches at run time and this CPU
  has (on x86-64 with NumPy 2.4: ``X86_V3 X86_V4 AVX512_ICL ...``), leaving the compiled
  baseline. NumPy refuses names outside its dispatch list, so the list is read from NumPy.
- ``OPENBLAS_CORETYPE=Sandybridge`` on x86-64: AVX kernels without FMA for matrix products
  (most machines use Haswell or SkylakeX kernels, both with FMA).
- ``ATEN_CPU_CAPABILITY=default``: PyTorch's non-vectorised CPU kernels.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys


def dispatched_features() -> list[str]:
    """NumPy's run-time dispatched CPU features that this machine supports."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    return [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]


def environment() -> dict[str, str]:
    """The variables to add to the environment (empty values are left out)."""
    env = {"ATEN_CPU_CAPABILITY": "default"}
    features = dispatched_features()
    if features:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(features)
    if platform.machine() in ("x86_64", "AMD64"):
        env["OPENBLAS_CORETYPE"] = "Sandybridge"
    return env


def main(argv: list[str]) -> int:
    if not argv or argv == ["--print"]:
        for key, value in environment().items():
            print(f"{key}={value!r}")
        return 0
    return subprocess.call(argv, env={**os.environ, **environment()})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
