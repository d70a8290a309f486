"""tools/execute_book.py: the cache the book build reads is never older than the code."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool():
    import execute_book  # its worker processes receive its functions by reference

    return execute_book


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def test_stamp_covers_course_lib_and_the_lock(tool, tmp_path):
    (tmp_path / "course_lib" / "optim").mkdir(parents=True)
    rule = tmp_path / "course_lib" / "optim" / "adam.py"
    rule.write_text("BETA = 0.9\n")
    (tmp_path / "requirements.lock").write_text("numpy==2.0\n")
    first = tool.library_stamp(tmp_path)
    rule.write_text("BETA = 0.8\n")
    second = tool.library_stamp(tmp_path)
    (tmp_path / "requirements.lock").write_text("numpy==2.1\n")
    assert len({first, second, tool.library_stamp(tmp_path)}) == 3


def test_a_cache_filled_for_another_library_is_emptied(tool, tmp_path):
    cache_dir = tmp_path / "cache"
    tool.open_cache(cache_dir, "old")
    (cache_dir / "marker").write_text("outputs of the old library")
    tool.open_cache(cache_dir, "old")
    assert (cache_dir / "marker").exists(), "same library: the cache is kept"
    tool.open_cache(cache_dir, "new")
    assert not (cache_dir / "marker").exists(), "another library: the cache is emptied"


def test_executes_once_then_reads_the_cache_and_reports_errors(tool, tmp_path, capsys):
    good = _notebook(tmp_path / "good.ipynb", "x = 6 * 7", "print(x)")
    cache_dir = tmp_path / "_build" / ".jupyter_cache"
    assert tool.execute(cache_dir, [good], jobs=1, timeout=60) == []
    assert "0 notebook(s) cached, 1 to execute" in capsys.readouterr().out
    cache = tool.open_cache(cache_dir, tool.library_stamp())
    record = cache.match_cache_notebook(nbformat.read(good, as_version=4))
    executed = cache.get_cache_bundle(record.pk).nb
    assert executed.cells[1].outputs[0]["text"] == "42\n"
    assert tool.execute(cache_dir, [good], jobs=1, timeout=60) == []
    assert "1 notebook(s) cached, 0 to execute" in capsys.readouterr().out
    _notebook(good, "x = 6 * 7", "print(x + 1)")  # the code changed: executed again
    assert tool.execute(cache_dir, [good], jobs=1, timeout=60) == []
    assert "0 notebook(s) cached, 1 to execute" in capsys.readouterr().out
    bad = _notebook(tmp_path / "bad.ipynb", "1 / 0")
    errors = tool.execute(cache_dir, [bad], jobs=1, timeout=60)
    assert len(errors) == 1 and "ZeroDivisionError" in errors[0]
