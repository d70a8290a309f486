"""Execute the book's notebooks in parallel into the jupyter-cache that the build reads.

``make book`` runs this first and then ``jupyter-book build`` with ``execute_notebooks:
cache``, which takes every chapter's outputs from the cache. A notebook is executed again
only when

- its code changed (jupyter-cache keys a notebook on its code cells and kernel), or
- the code it imports changed: the cache is emptied whenever the hash of ``course_lib``'s
  sources and ``requirements.lock`` (the stamp below) differs from the one it was filled
  with, since a chapter's outputs depend on the library as much as on its own cells.

A clean build executes the stale notebooks on ``-j`` worker processes, longest first (by
the last recorded run time), so the build takes about the time of the longest chapters
rather than their sum. Usage::

    .venv/bin/python tools/execute_book.py [-j 2] [--path-output DIR]

``--path-output`` is jupyter-book's option of the same name: the cache is
``DIR/_build/.jupyter_cache``, where the build looks for it. Exit status 1 when a notebook
fails; its error is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

ROOT = Path(__file__).resolve().parents[1]
STAMP = "course_lib.sha256"


def library_stamp(root: Path = ROOT) -> str:
    """Hash of every source file the chapters' outputs depend on besides their own cells."""
    digest = hashlib.sha256()
    files = sorted((root / "course_lib").rglob("*.py")) + [root / "requirements.lock"]
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def book_notebooks(root: Path = ROOT) -> list[Path]:
    """The executable pages of _toc.yml (the chapters' .ipynb twins)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node and (root / f"{node['file']}.ipynb").is_file():
                found.append(root / f"{node['file']}.ipynb")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def open_cache(cache_dir: Path, stamp: str):
    """The jupyter-cache at ``cache_dir``, emptied first if it was filled for another stamp."""
    stamp_file = cache_dir / STAMP
    if cache_dir.exists() and (not stamp_file.is_file() or stamp_file.read_text() != stamp):
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)
    return get_cache(str(cache_dir))


def _execute(path: str, timeout: int):
    """Worker: execute one notebook in its own folder (as the book and Colab do)."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=False)
    error = None if result.err is None else result.exc_string
    return path, nb, time.perf_counter() - start, error


def execute(cache_dir: Path, notebooks: list[Path], jobs: int, timeout: int) -> list[str]:
    """Execute the notebooks the cache lacks; return the error reports (empty if none)."""
    cache = open_cache(cache_dir, library_stamp())
    stale, seconds = [], {}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            stale.append(path)
    for record in cache.list_cache_records():
        seconds[record.uri] = record.data.get("execution_seconds", 0.0)
    # longest first (by the time recorded for an earlier version), unknown ones first of all
    stale.sort(key=lambda p: -seconds.get(str(p), float("inf")))
    print(f"execute_book: {len(notebooks) - len(stale)} notebook(s) cached, "
          f"{len(stale)} to execute on {jobs} worker(s)", flush=True)
    errors = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_execute, str(p), timeout) for p in stale]
        for future in futures:
            path, nb, elapsed, error = future.result()
            name = os.path.relpath(path, ROOT)
            if error is not None:
                errors.append(f"{name} failed:\n{error}")
                print(f"  {name}: FAILED after {elapsed:.0f} s", flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, path, data={"execution_seconds": elapsed}),
                check_validity=False, overwrite=True)
            print(f"  {name}: {elapsed:.0f} s", flush=True)
    return errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--path-output", type=Path, default=ROOT)
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds per cell (default: _config.yml's execute.timeout)")
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    timeout = args.timeout or config.get("execute", {}).get("timeout", 300)
    cache_dir = args.path_output.resolve() / "_build" / ".jupyter_cache"
    errors = execute(cache_dir, book_notebooks(), args.jobs, timeout)
    for report in errors:
        print(report[-6000:], file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
