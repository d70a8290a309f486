"""Student text made safe to show: in feedback, in a notebook nbgrader writes, in a log.

Anything a submission controls (exception messages, cell sources and outputs, markdown,
metadata) passes through here before it reaches the grader's output.  :func:`clean` removes
what would break a writer (lone surrogates cannot be encoded as UTF-8, so nbgrader could
not save the autograded notebook) or a terminal (control characters), and caps the length;
:func:`safe_markdown` keeps student markdown from becoming live HTML (``<script>``,
``onerror``), links (``javascript:``) or remote images in the feedback and in formgrader, and
bounds what nbconvert's markdown filter must render.
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["clean", "clean_tree", "safe_markdown", "LIMIT", "MARKDOWN_CELL", "MARKDOWN_TOTAL"]

LIMIT = 2000  # characters of one message

# Lone surrogates and C0/C1 control characters other than tab and newline.
_BAD = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: Any, limit: int | None = LIMIT) -> str:
    """``text`` as a printable, UTF-8-encodable string of at most ``limit`` characters."""
    try:
        s = text if isinstance(text, str) else str(text)
    except Exception:  # noqa: BLE001 - a hostile __str__
        s = "(unprintable)"
    s = _BAD.sub("\N{REPLACEMENT CHARACTER}", s.replace("\r\n", "\n"))
    if limit is not None and len(s) > limit:
        s = s[:limit] + f" ... ({len(s) - limit} more characters cut)"
    return s


def clean_tree(x: Any, limit: int | None = None) -> Any:
    """Every string (keys too) of a JSON-like tree (a notebook) cleaned; the same
    structure otherwise.  Iterative, so that no nesting depth can exhaust the stack."""
    if isinstance(x, str):
        return clean(x, limit)
    root = [x]
    stack = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        v = parent[key]
        if isinstance(v, str):
            parent[key] = clean(v, limit)
        elif isinstance(v, dict):
            for k in list(v):
                ck = clean(k, None) if isinstance(k, str) else k
                if ck != k:
                    v[ck] = v.pop(k)
                stack.append((v, ck))
        elif isinstance(v, list):
            stack.extend((v, i) for i in range(len(v)))
    return root[0]


# Markdown syntax that makes a link or loads something: [text](url), ![alt](url), reference
# definitions "[r]: url", autolinks "<url>".  In the student's markdown these show as text.
_LINK_OPEN = re.compile(r"\](?=[(\[])")
_IMAGE = re.compile(r"!\[")
_REF_DEF = re.compile(r"^(\s*)\[", re.MULTILINE)

#: characters of one student markdown cell, and of all of them, that reach the feedback
#: (nbconvert's markdown filter is quadratic in some inputs: ``\begin{`` repeated)
MARKDOWN_CELL = 20_000
MARKDOWN_TOTAL = 100_000


_MATH = re.compile(r"(\$\$[\s\S]*?\$\$|\$[^$\n]+\$)")


def safe_markdown(markdown: str, limit: int = MARKDOWN_CELL) -> str:
    """A student's markdown as it may be shown to its reader (the feedback, formgrader):
    no raw HTML (``<`` and ``>`` become entities), no link, image or reference definition
    (their syntax is escaped: a ``javascript:`` URL or a tracking image stays text), and at
    most ``limit`` characters.  Math (``$...$``, ``$$...$$``) is left as written: nbconvert
    escapes it itself, and MathJax must see ``a < b``."""
    def text_part(part: str) -> str:
        part = part.replace("<", "&lt;").replace(">", "&gt;")
        part = _LINK_OPEN.sub("]\\\\", part)
        part = _IMAGE.sub("!\\\\[", part)
        return _REF_DEF.sub(lambda m: m.group(1) + "\\[", part)

    pieces = _MATH.split(clean(markdown, limit))
    return "".join(p if i % 2 else text_part(p) for i, p in enumerate(pieces))
