"""The suite's one piece of shared set-up: ``tools/`` (scripts, not a package) goes on
``sys.path``, so a test imports the tool it checks by name (``import sync_notebooks``)."""

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))
