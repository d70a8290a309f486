"""The locked environment: requirements.lock agrees with pyproject.toml, and is what is installed.

``pyproject.toml`` keeps ranges (students install ``course_lib`` on Colab next to Colab's own
torch, which pip must not replace); ``requirements.lock`` (``make lock``, pip-compile with
hashes) pins the exact versions ``make`` installs, so every machine runs the tested ones.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
EXTRAS = ("torch", "book", "grading", "dev")  # what `make lock` compiles


def locked() -> dict[str, tuple[Version, list[str]]]:
    """{canonical name: (pinned version, [hashes])} from requirements.lock."""
    pins, current = {}, None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if m:
            current = canonicalize_name(m.group(1))
            pins[current] = (Version(m.group(2)), [])
        elif current and (h := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            pins[current][1].append(h.group(1))
        elif not line.startswith(" "):
            current = None
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


PINS = locked()


def test_lock_is_a_hashed_pip_compile_of_pyproject():
    header = LOCK.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "pip-compile" in header and "--generate-hashes" in header
    for extra in EXTRAS:
        assert f"--extra={extra}" in header, f"make lock must compile the {extra!r} extra"
    unhashed = sorted(name for name, (_, hashes) in PINS.items() if not hashes)
    assert not unhashed, f"pinned without a hash: {unhashed}"


@pytest.mark.parametrize("req", declared(), ids=str)
def test_every_declared_requirement_is_locked_inside_its_range(req):
    name = canonicalize_name(req.name)
    assert name in PINS, f"{req} is in pyproject.toml but not in requirements.lock: make lock"
    version = PINS[name][0]
    assert req.specifier.contains(version, prereleases=True), (
        f"requirements.lock pins {name}=={version}, outside {req}: make lock")


def test_torch_is_the_cpu_build():
    # A plain torch wheel from PyPI is the multi-GB CUDA build.
    version = PINS["torch"][0]
    assert version.local == "cpu", f"torch=={version} is not the CPU build"


def test_the_environment_is_the_lock():
    # What `make` installed must be exactly what the lock says (a stale .venv, or one
    # installed by hand, would test other versions than the ones every machine gets).
    wrong = []
    for name, (version, _) in PINS.items():
        try:
            have = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} (missing)")
            continue
        if have != version:
            wrong.append(f"{name} {have} (lock: {version})")
    assert not wrong, "installed packages differ from requirements.lock: " + ", ".join(wrong)
