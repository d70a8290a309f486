"""The book: table of contents, notebook twins, Colab set-up cells, and one full build.

The build (every chapter executed, `-W -n --keep-going`: any warning, broken reference or
failing cell is an error) runs once per session, into a temporary folder, and the tests
that need HTML share it. Everything else is quick and reads the sources only.
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import sync_notebooks
import yaml

# One xdist worker takes every book test, so the build is not waited on by both workers.
pytestmark = pytest.mark.xdist_group("book")

ROOT = Path(__file__).resolve().parents[1]
# The one repository setting (_config.yml) and the release (course_lib.__version__), read
# here directly rather than through tools/repository.py, which writes the places they feed.
_REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
REPO_URL = _REPOSITORY["url"]
RELEASE_TAG = "v" + re.search(r'__version__ = "([^"]+)"',
                              (ROOT / "course_lib" / "__init__.py").read_text()).group(1)
COLAB_PREFIX = (REPO_URL.replace("https://github.com/", "https://colab.research.google.com/github/")
                + f"/blob/{_REPOSITORY['branch']}/")
INSTALL_SPEC = f"course_lib @ git+{REPO_URL}@{RELEASE_TAG}"


def toc_entries() -> list[str]:
    """Every `file:` of _toc.yml (the root first), without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return files


TOC = toc_entries()
CHAPTERS = [f for f in TOC if f.startswith("chapters/")]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


# ----------------------------------------------------------------------------- sources
def test_toc_lists_the_whole_course():
    assert TOC[0] == "intro"
    assert {"notation", "references"} <= set(TOC)
    numbered = [c for c in CHAPTERS if re.match(r"chapters/\d\d_", c)]
    assert [int(c[9:11]) for c in numbered] == list(range(1, 15))
    assert {"chapters/appendix_choosing", "chapters/appendix_equations"} <= set(CHAPTERS)
    assert len(TOC) == len(set(TOC)), "a page appears twice in _toc.yml"


@pytest.mark.parametrize("page", [p for p in TOC if p not in CHAPTERS])
def test_front_and_back_matter_exist(page):
    assert (ROOT / f"{page}.md").is_file()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_notebook_and_md_twin(chapter):
    assert (ROOT / f"{chapter}.ipynb").is_file(), "the book builds from the .ipynb"
    assert (ROOT / f"{chapter}.md").is_file(), "the .ipynb is generated from the .md"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_twins_in_sync(chapter):
    sync = sync_notebooks
    problems = sync.differences(ROOT / f"{chapter}.md", ROOT / f"{chapter}.ipynb")
    assert not problems, (
        f"{chapter}.ipynb is stale ({'; '.join(problems)}): "
        f"run .venv/bin/python tools/sync_notebooks.py {chapter}.md"
    )


def test_sync_check_detects_a_stale_twin(tmp_path):
    sync = sync_notebooks
    md = ROOT / f"{CHAPTERS[0]}.md"
    nb = nbformat.read(ROOT / f"{CHAPTERS[0]}.ipynb", as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code" and "remove-cell" not in
                c.metadata.get("tags", []))
    code.source += "\nx = 1  # an edit made in the notebook only"
    stale = tmp_path / "stale.ipynb"
    nbformat.write(nb, stale)
    assert sync.differences(md, stale)
    assert sync.differences(md, tmp_path / "missing.ipynb")


def _first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_installs_course_lib_on_colab(path):
    nb = nbformat.read(path, as_version=4)
    cell = _first_code_cell(nb)
    src = cell.source
    assert '"google.colab" in sys.modules' in src
    assert '"pip", "install"' in src and INSTALL_SPEC in src and "check=True" in src
    assert "remove-cell" in cell.metadata.get("tags", []), "hidden in the book"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "committed notebooks are stripped of outputs"


# The theme's code blocks show about 88 characters at the default width; longer lines
# scroll sideways and hide the end of the line from a reader.
MAX_CODE_LINE = 88


def _fenced_code_lines(markdown: str) -> list[str]:
    """Lines inside ``` / ~~~ code fences of a markdown cell. MyST directive fences
    (```{exercise}, ````{solution-start} ... ````) hold prose, not code, but must be
    tracked so that their closing fence is not taken for the opening of a code block."""
    lines, open_fences = [], []  # (marker, holds code) of every fence still open
    for line in markdown.splitlines():
        m = re.match(r"^\s*(`{3,}|~{3,})(.*)$", line)
        in_code = bool(open_fences) and open_fences[-1][1]
        if m and open_fences and m.group(1) == open_fences[-1][0] and not m.group(2).strip():
            open_fences.pop()
        elif m and not in_code:
            open_fences.append((m.group(1), not m.group(2).strip().startswith("{")))
        elif in_code:
            lines.append(line)
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_shown_code_lines_fit_the_page(path):
    nb = nbformat.read(path, as_version=4)
    shown = [line for c in nb.cells if c.cell_type == "code"
             and "remove-cell" not in c.metadata.get("tags", []) for line in c.source.splitlines()]
    shown += [line for c in nb.cells if c.cell_type == "markdown"
              for line in _fenced_code_lines(c.source)]
    long = [line for line in shown if len(line) > MAX_CODE_LINE]
    assert not long, f"{len(long)} code line(s) over {MAX_CODE_LINE} characters: {long[:3]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_title_carries_no_hand_written_number(path):
    # Sphinx numbers the chapters (numbered parts in _toc.yml): "# 8. Adam" would read "8. 8. Adam".
    title = next(c for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "markdown").source.splitlines()[0]
    assert title.startswith("# ") and not re.match(r"# \d", title), title


def test_bibliography_keys_unique_and_cited_keys_exist():
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,\s]+),", bib, flags=re.M)
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate keys in references.bib: {duplicates}"
    cited = set()
    for md in (ROOT / "chapters").glob("*.md"):
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", md.read_text(encoding="utf-8")):
            cited.update(k.strip() for k in group.split(","))
    assert cited <= set(keys), f"cited but not in references.bib: {sorted(cited - set(keys))}"


# ----------------------------------------------------------------------------- the build
@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the whole book once (shared by pytest-xdist workers through a file lock)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, common to all workers
    out = shared / "book_build"
    result = shared / "book_build.json"
    with open(shared / "book_build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            jb = Path(sys.executable).with_name("jupyter-book")
            env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
            # as `make book`: the chapters execute in parallel into the build's cache
            proc = subprocess.run(
                [sys.executable, str(ROOT / "tools" / "execute_book.py"), "-j", "2",
                 "--path-output", str(out)],
                capture_output=True, text=True, env=env,
            )
            log = proc.stdout + proc.stderr
            if proc.returncode == 0:
                proc = subprocess.run(
                    [str(jb), "build", str(ROOT), "-W", "-n", "--keep-going",
                     "--path-output", str(out)],
                    capture_output=True, text=True, env=env,
                )
                log += proc.stdout + proc.stderr
            result.write_text(json.dumps({"returncode": proc.returncode, "log": log}))
        outcome = json.loads(result.read_text())
    assert outcome["returncode"] == 0, "book build failed:\n" + outcome["log"][-6000:]
    return out / "_build"


def test_build_succeeds_without_warnings(built_book):
    assert (built_book / "html" / "intro.html").is_file()


@pytest.mark.parametrize("page", TOC)
def test_every_toc_page_is_built(built_book, page):
    assert (built_book / "html" / f"{page}.html").is_file()


def _colab_links(page_html: str) -> list[str]:
    return [html.unescape(u) for u in
            re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', page_html)]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_colab_button_opens_an_existing_notebook(built_book, chapter):
    page = (built_book / "html" / f"{chapter}.html").read_text(encoding="utf-8")
    links = _colab_links(page)
    assert links, f"{chapter} has no Colab launch button"
    for link in links:
        assert link.startswith(COLAB_PREFIX), link
        path = link[len(COLAB_PREFIX):]
        assert path.endswith(".ipynb"), f"Colab link to a non-notebook: {link}"
        assert (ROOT / path).is_file(), f"Colab link to a missing notebook: {path}"


def test_no_colab_link_anywhere_points_at_markdown(built_book):
    for page in (built_book / "html").rglob("*.html"):
        for link in _colab_links(page.read_text(encoding="utf-8")):
            assert link.endswith(".ipynb"), f"{page.name}: {link}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_pages_show_no_errors(built_book, chapter):
    page = (built_book / "html" / f"{chapter}.html").read_text(encoding="utf-8")
    assert "Traceback" not in page
    assert not re.search(r'class="[^"]*\boutput\b[^"]*\b(traceback|error)\b', page)
    executed = built_book / "jupyter_execute" / f"{chapter}.ipynb"
    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    first = _first_code_cell(nb)
    assert '"google.colab" in sys.modules' in first.source  # set-up cell still first
    assert "google.colab" not in page, "the Colab set-up cell must be hidden in the book"


@pytest.mark.parametrize("page", TOC)
def test_mathjax_is_served_by_the_site(built_book, page):
    # Read offline (or screenshotted without network), a CDN MathJax leaves raw TeX.
    html_path = built_book / "html" / f"{page}.html"
    text = html_path.read_text(encoding="utf-8")
    sources = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', text, flags=re.I)
    if 'class="math' in text:  # Sphinx loads MathJax only on pages with maths
        assert sources, f"{page} has maths but loads no MathJax"
    for src in sources:
        assert not re.match(r"(https?:)?//", src), f"{page} loads MathJax from {src}"
        assert (html_path.parent / src).resolve().is_file(), f"{page}: {src} is missing"


def test_internal_links_and_anchors_resolve(built_book):
    # Every relative link of every page leads to a file of the site, and its #anchor to an
    # element with that id: a renamed label or a moved page breaks no reader's click.
    html_dir = built_book / "html"
    ids: dict[Path, set[str]] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in ids:
            ids[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))
        return ids[path]

    broken = []
    for page in sorted(html_dir.rglob("*.html")):
        if "_static" in page.parts:
            continue
        for href in re.findall(r'<a\b[^>]*\bhref="([^"]+)"', page.read_text(encoding="utf-8")):
            href = html.unescape(href)
            if re.match(r"^[a-z][a-z0-9+.-]*:", href, flags=re.I):  # http:, mailto:, ...
                continue
            target, _, anchor = href.partition("#")
            path = (page.parent / target).resolve() if target else page
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                broken.append(f"{page.relative_to(html_dir)}: {href} (no such file)")
            elif anchor and path.suffix == ".html" and anchor not in ids_of(path):
                broken.append(f"{page.relative_to(html_dir)}: {href} (no such anchor)")
    assert not broken, f"{len(broken)} broken link(s): {broken[:10]}"


# ----------------------------------------------------------------------------- in a browser
@pytest.fixture(scope="module")
def browser(built_book):
    """Headless Chromium and a local web server for the built site (offline)."""
    import functools
    import http.server
    import threading

    import browser as tool
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(built_book / "html"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tool.Chromium() as chromium:
            yield chromium, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


# After the page's load event: wait for MathJax to finish, then report what a reader would
# see unrendered: maths left as TeX, and images that did not load.
_RENDERED = """
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const math = [...document.querySelectorAll('.math')];
  const raw = math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent);
  const article = document.querySelector('article') || document.body;
  const text = article.innerText;
  return {math: math.length, raw: raw.slice(0, 5),
          rawDelimiters: (text.match(/\\\\\\(|\\\\\\[|\\$\\$/g) || []).length,
          brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0)
                                            .map(i => i.src)};
})()
"""


@pytest.mark.parametrize("page", TOC)
def test_page_renders_in_a_browser(browser, page):
    chromium, base = browser
    report = chromium.visit(f"{base}/{page}.html")
    assert not report.problems, f"{page}: {report.problems[:5]}"
    seen = chromium.evaluate(_RENDERED, await_promise=True)
    assert not seen["raw"] and seen["rawDelimiters"] == 0, f"{page}: maths not typeset: {seen}"
    assert not seen["brokenImages"], f"{page}: images did not load: {seen['brokenImages']}"
    if page in CHAPTERS:
        assert seen["math"] > 0, f"{page}: no typeset maths found at all"


def test_every_place_names_the_one_repository_and_release():
    # Install cells and Colab links anywhere in the tracked files (chapters, assignments,
    # solutions, README, intro, tools) are derived from _config.yml and the version.
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    wrong = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in (".md", ".ipynb", ".py", ".yml", ".txt") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for spec in re.findall(r"course_lib @ git\+https://github\.com/[\w./@-]+", text):
            if spec != INSTALL_SPEC:
                wrong.append(f"{name}: {spec}")
        for link in re.findall(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/"
                               r"blob/[\w.-]+/", text):
            if link != COLAB_PREFIX:
                wrong.append(f"{name}: {link}")
    assert not wrong, f"not derived from _config.yml (tools/repository.py --write): {wrong[:5]}"
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "repository.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
