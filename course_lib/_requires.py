"""Optional dependencies: one clear error when a module that needs one is imported without it."""

from __future__ import annotations

import importlib


def require_torch(feature: str):
    """Import and return ``torch``, or raise an ImportError that says how to install it.

    ``course_lib.optim`` and the rest of the NumPy code run without PyTorch; only
    ``feature`` (the torch ports, the GPU helpers, assignment a6's grading) needs it.
    """
    try:
        return importlib.import_module("torch")
    except ImportError as err:
        raise ImportError(
            f"{feature} needs PyTorch, which is not installed. On Colab it is already there; "
            "elsewhere install the CPU build first (pip install torch --index-url "
            "https://download.pytorch.org/whl/cpu), or pip install 'course_lib[torch]'."
        ) from err
