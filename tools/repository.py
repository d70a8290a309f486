"""The course's repository, set once, and every place that names it.

One setting: ``repository.url`` (and ``branch``) in ``_config.yml``, plus the release,
``course_lib.__version__``, whose tag is ``v<version>``. From them come:

- the Colab install of every chapter and assignment, ``course_lib @ git+<url>@v<version>``:
  pinned to the release the notebook belongs to, and without the ``torch`` extra, so pip
  never replaces the torch that Colab provides;
- the Colab links of the assignments (badge cells, ``intro.md``, ``README.md``),
  ``https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<path>``;
- the plain repository links of ``intro.md`` and ``README.md``.

Usage::

    .venv/bin/python tools/repository.py            # print the settings
    .venv/bin/python tools/repository.py --write    # rewrite every place (then make assignments)
    .venv/bin/python tools/repository.py --check    # exit 1, naming the files that disagree

The assignments' cells are written by ``tools/build_solutions.py`` from :func:`install_spec`
and :func:`colab_url`; ``make assignments`` regenerates them.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import NamedTuple

import yaml

ROOT = Path(__file__).resolve().parents[1]


class Settings(NamedTuple):
    url: str     # https://github.com/<owner>/<repo>
    slug: str    # <owner>/<repo>
    branch: str
    tag: str     # v<course_lib.__version__>


def settings(root: Path = ROOT) -> Settings:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    url = config["repository"]["url"].rstrip("/")
    m = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", url)
    if m is None:
        raise ValueError(f"_config.yml repository.url must be https://github.com/<owner>/<repo>, "
                         f"got {url!r}")
    init = (root / "course_lib" / "__init__.py").read_text(encoding="utf-8")
    version = re.search(r'^__version__ = "([^"]+)"', init, flags=re.M).group(1)
    return Settings(url, m.group(1), config["repository"].get("branch", "main"), f"v{version}")


def install_spec(s: Settings | None = None) -> str:
    s = s or settings()
    return f"course_lib @ git+{s.url}@{s.tag}"


def colab_url(path: str, s: Settings | None = None) -> str:
    s = s or settings()
    return f"https://colab.research.google.com/github/{s.slug}/blob/{s.branch}/{path}"


# What is derived, with owner, repository and ref as wildcards, and what it becomes.
_NAME = r"[\w.-]+"
_RULES = (
    (re.compile(rf"course_lib @ git\+https://github\.com/{_NAME}/{_NAME}(?:@{_NAME})?"),
     lambda s: install_spec(s)),
    (re.compile(rf"https://colab\.research\.google\.com/github/{_NAME}/{_NAME}/blob/{_NAME}/"),
     lambda s: colab_url("", s)),
    # a plain link: the repository name followed by the end of the link
    (re.compile(rf"https://github\.com/{_NAME}/{_NAME}(?=[>\s)`\"\]]|$)", flags=re.M),
     lambda s: s.url),
    (re.compile(rf"(?<=this course `<owner>/<repo>` is `){_NAME}/{_NAME}(?=`)"),
     lambda s: s.slug),
    (re.compile(rf"(?<=, the branch is\n`){_NAME}(?=`)"), lambda s: s.branch),
)


def files(root: Path = ROOT) -> list[Path]:
    """Every hand-written file that names the repository."""
    return sorted((root / "chapters").glob("*.md")) + [root / "intro.md", root / "README.md"]


def render(text: str, s: Settings) -> str:
    for pattern, value in _RULES:
        text = pattern.sub(lambda m: value(s), text)
    return text


def stale(root: Path = ROOT) -> list[Path]:
    s = settings(root)
    return [p for p in files(root) if render(p.read_text(encoding="utf-8"), s)
            != p.read_text(encoding="utf-8")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    s = settings()
    if args.check:
        out = stale()
        if out:
            print("name another repository or release than _config.yml and course_lib "
                  "(run tools/repository.py --write):",
                  *(str(p.relative_to(ROOT)) for p in out), sep="\n  ")
            return 1
        return 0
    if args.write:
        sys.path.insert(0, str(ROOT / "tools"))
        import sync_notebooks

        for path in stale():
            path.write_text(render(path.read_text(encoding="utf-8"), s), encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
            if path.parent.name == "chapters":
                sync_notebooks.write_twin(path)
        return 0
    print(f"url {s.url}\nbranch {s.branch}\nrelease tag {s.tag}\ninstall {install_spec(s)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
