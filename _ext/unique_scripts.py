"""Sphinx extension: each page loads each script once.

sphinx-thebe (which Jupyter Book 1.x always loads) adds its inline configuration script
twice, so every page declares ``const THEBE_JS_URL`` twice and the browser reports a
SyntaxError on every page (tests/test_book.py opens each page in Chromium and fails on
any console error). Dropping exact repeats of a script (same file or same inline body, same
attributes) changes nothing else.
"""

from __future__ import annotations


def _key(script) -> tuple:
    # the two copies differ only in an empty filename: None in one, "" in the other
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", None) or None,
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
