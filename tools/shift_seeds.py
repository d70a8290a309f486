"""Execute chapters with every literal seed shifted: do their asserted claims still hold?

A claim that depends on randomness must hold for other seeds, not only for the ones
written in the chapter. This tool copies the chosen chapters, adds ``--by`` to every
literal seed in their code cells (``seed=3``, ``default_rng(3)``, ``manual_seed(3)``,
``RandomState(3)``, ``SEEDS = range(0, 5)``, ``for seed in range(5)``), executes the
copies from ``chapters/`` (so relative paths still work) and reports which fail. Usage::

    .venv/bin/python tools/shift_seeds.py --by 7 chapters/03_sgd.md chapters/10_schedules.md
    .venv/bin/python tools/shift_seeds.py --by 11          # every chapter

Exit status 1 when a shifted chapter fails; the failing cell's error is printed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]

# A literal integer in a seeding position; group 1 is what precedes it.
_LITERAL = re.compile(
    r"(\b(?:seed\w*|random_state)\s*=\s*|default_rng\(\s*|manual_seed\(\s*|RandomState\(\s*)"
    r"(\d+)\b")
# range(...) of seeds: `SEEDS = range(a, b)`, `for seed in range(b)`.
_RANGE = re.compile(r"(\bseeds?\w*\s*(?:=|in)\s*range\(\s*)(\d+)(\s*(?:,\s*(\d+))?\s*\))",
                    re.IGNORECASE)


def shift_source(source: str, by: int) -> str:
    """``source`` with every literal seed increased by ``by``."""
    def one_range(m):
        start, stop = m.group(2), m.group(4)
        if stop is None:               # range(b) -> range(by, b + by)
            return f"{m.group(1)}{by}, {int(start) + by})"
        return f"{m.group(1)}{int(start) + by}, {int(stop) + by})"

    source = _RANGE.sub(one_range, source)
    return _LITERAL.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + by}", source)


def run_shifted(md: Path, by: int, timeout: int = 900) -> str | None:
    """Execute ``md`` with its seeds shifted; None on success, else the error text."""
    nb = jupytext.read(md)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = shift_source(cell.source, by)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(md.parent)}})
    try:
        client.execute()
    except CellExecutionError as err:
        return str(err)[-3000:]
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by", type=int, default=7, help="added to every literal seed")
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--show", action="store_true",
                        help="print the shifted code cells instead of executing them")
    args = parser.parse_args(argv)
    chapters = args.chapters or sorted((ROOT / "chapters").glob("*.md"))
    failed = []
    for md in chapters:
        md = md.resolve()
        if args.show:
            for cell in jupytext.read(md).cells:
                if cell.cell_type == "code":
                    shifted = shift_source(cell.source, args.by)
                    if shifted != cell.source:
                        print(shifted, end="\n---\n")
            continue
        error = run_shifted(md, args.by)
        print(f"{md.name}: {'ok' if error is None else 'FAILED'} (seeds +{args.by})",
              flush=True)
        if error is not None:
            print(error)
            failed.append(md.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
