"""Regenerate every ``chapters/*.ipynb`` from its MyST-Markdown twin ``chapters/*.md``.

The chapters are written as MyST notebooks (text, easy to review) and the book builds from
the generated ``.ipynb`` twins (outputs stripped), so that Colab and Binder buttons open
real notebooks. Usage::

    .venv/bin/python tools/sync_notebooks.py            # rewrite every twin
    .venv/bin/python tools/sync_notebooks.py --check    # exit 1 if any twin is stale
    .venv/bin/python tools/sync_notebooks.py chapters/02_gradient_descent.md
    .venv/bin/python tools/sync_notebooks.py --root /tmp/copy   # a copy of the book

Two notebooks are "in sync" when they have the same cells: the same types, sources and
tags, in the same order (timestamps and outputs are irrelevant).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def cell_signature(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    """What must agree between twins: (cell type, source, tags) for every cell."""
    return [
        (c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", ())))
        for c in nb.cells
    ]


def differences(md_path: Path, ipynb_path: Path) -> list[str]:
    """Human-readable differences between a .md notebook and its .ipynb twin ([] if none)."""
    if not ipynb_path.exists():
        return [f"{_show(ipynb_path)} is missing"]
    want = cell_signature(jupytext.read(md_path))
    have = cell_signature(jupytext.read(ipynb_path))
    problems = []
    if len(want) != len(have):
        problems.append(f"{len(have)} cells in the .ipynb, {len(want)} in the .md")
    for i, (a, b) in enumerate(zip(want, have)):
        if a != b:
            problems.append(f"cell {i} differs ({a[0]}: {a[1][:60]!r}...)")
            break
    return problems


def write_twin(md_path: Path) -> bool:
    """Write the outputs-free .ipynb twin of ``md_path``; return whether it changed."""
    nb = jupytext.read(md_path)
    for i, cell in enumerate(nb.cells):
        # Deterministic ids keep regenerated notebooks identical, so git shows real diffs only.
        cell.id = hashlib.sha1(f"{md_path.stem}:{i}".encode()).hexdigest()[:8]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    out = md_path.with_suffix(".ipynb")
    text = jupytext.writes(nb, fmt="ipynb")
    if out.exists() and out.read_text(encoding="utf-8") == text:
        return False
    out.write_text(text, encoding="utf-8")
    return True


def md_notebooks(paths: list[str], root: Path = ROOT) -> list[Path]:
    if paths:
        found = [Path(p).resolve() for p in paths]
        bad = [str(p) for p in found if p.suffix != ".md" or not p.exists()]
        if bad:
            raise ValueError(f"paths must be existing .md notebooks, got {bad}")
        return found
    return sorted((root / "chapters").glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help=".md notebooks (default: chapters/*.md)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="book folder whose chapters/*.md to use (default: this repository)")
    parser.add_argument("--check", action="store_true",
                        help="only report stale or missing twins; exit 1 if there are any")
    args = parser.parse_args(argv)
    stale = 0
    root = args.root.resolve()
    for md in md_notebooks(args.paths, root):
        ipynb = md.with_suffix(".ipynb")
        if args.check:
            problems = differences(md, ipynb)
            if problems:
                stale += 1
                print(f"OUT OF SYNC {_show(md)}: " + "; ".join(problems))
        else:
            if write_twin(md):
                print(f"wrote {_show(ipynb)}")
    if args.check:
        print("all twins in sync" if not stale else
              f"{stale} stale twin(s): run .venv/bin/python tools/sync_notebooks.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
