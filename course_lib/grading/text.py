"""Student text made safe to show: in feedback, in a notebook nbgrader writes, in a log.

Anything a submission controls (exception messages, cell sources and outputs, markdown,
metadata) passes through here before it reaches the grader's output.  :func:`clean` removes
what would break a writer (lone surrogates cannot be encoded as UTF-8, so nbgrader could
not save the autograded notebook) or a terminal (control characters), and caps the length;
:func:`no_html` keeps student markdown from becoming live HTML (``<script>``, ``onerror``)
in the feedback and in formgrader.
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["clean", "clean_tree", "no_html", "LIMIT"]

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


def no_html(markdown: str) -> str:
    """Markdown whose raw HTML shows as text: ``<`` and ``>`` become entities (math such as
    ``$a < b$`` still renders, since MathJax reads the decoded text)."""
    return markdown.replace("<", "&lt;").replace(">", "&gt;")
