"""Full-page PNG screenshots of built book pages with headless Chromium (offline).

Usage::

    .venv/bin/python tools/screenshot.py _build/html intro chapters/02_gradient_descent \
        [--out tools/screenshots] [--width 1280] [--tile 1600]

For every page name (path of the page under the HTML folder, without ``.html``) it writes
``<out>/<name>.png`` (the whole page, ``/`` in names becomes ``__``) and, with ``--tile``,
``<out>/<name>.NN.png`` slices of that height, small enough to inspect in an image viewer.

Chromium runs headless with networking, sync and updates disabled and a fresh profile. A
plain ``--screenshot`` only captures the window, so the page height is measured first
through the DevTools protocol (``tools/browser.py``) and the page is captured at that
height. ``--window-height N`` skips the
protocol and takes a plain ``--screenshot`` of a 1280 x N window instead.

MathJax is served from the built site (sphinx-mathjax-offline), so the maths is typeset in
the images although Chromium has no network.
If Chromium is missing: ``apt-get update && apt-get install -y chromium``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from browser import FLAGS, Chromium, find_chromium

MAX_SLICE = 4000  # capture tall pages in slices: very tall single captures come back blank


def page_file(html_dir: Path, name: str) -> Path:
    path = html_dir / (name if name.endswith(".html") else name + ".html")
    if not path.is_file():
        raise SystemExit(f"no page {path} (page names are relative to {html_dir}, no .html)")
    return path


def simple_screenshot(chrome: str, page: Path, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory(prefix="shot-profile-") as profile:
        subprocess.run(
            [chrome, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--screenshot={png}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )


def full_page(pages, width: int, settle: float):
    """[(png, [PNG slices])] of every (page, png), each page captured at its full height."""
    results = []
    with Chromium(width=width) as browser:
        for page, png in pages:
            browser.set_viewport(width, 900)
            browser.visit(page.as_uri(), settle=settle)
            height = int(browser.evaluate("document.documentElement.scrollHeight"))
            browser.set_viewport(width, height)
            browser.run(asyncio.sleep(settle))
            slices = []
            for top in range(0, height, MAX_SLICE):
                shot = browser.run(browser.dt.call("Page.captureScreenshot", format="png", clip={
                    "x": 0, "y": top, "width": width,
                    "height": min(MAX_SLICE, height - top), "scale": 1}))
                slices.append(base64.b64decode(shot["data"]))
            results.append((png, slices))
    return results


def stitch(slices: list[bytes], png: Path) -> None:
    from PIL import Image

    images = [Image.open(io.BytesIO(s)) for s in slices]
    whole = Image.new("RGB", (images[0].width, sum(im.height for im in images)), "white")
    top = 0
    for im in images:
        whole.paste(im, (0, top))
        top += im.height
    whole.save(png)


def tile(png: Path, height: int) -> list[Path]:
    from PIL import Image

    whole = Image.open(png)
    out = []
    for i, top in enumerate(range(0, whole.height, height)):
        part = png.with_name(f"{png.stem}.{i:02d}.png")
        whole.crop((0, top, whole.width, min(whole.height, top + height))).save(part)
        out.append(part)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=Path, help="the built HTML folder (_build/html)")
    parser.add_argument("pages", nargs="+", help="page names, e.g. intro chapters/01_...")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--window-height", type=int, default=None,
                        help="plain --screenshot of a window this tall (no full-page capture)")
    parser.add_argument("--tile", type=int, default=0,
                        help="also write slices of this many pixels (0: none)")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds to let the page lay out before measuring/capturing")
    args = parser.parse_args(argv)
    if args.width < 200 or (args.window_height is not None and args.window_height < 200):
        raise SystemExit("--width and --window-height must be at least 200 pixels")
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(page_file(args.html_dir, name),
             args.out / (name.removesuffix(".html").replace("/", "__") + ".png"))
            for name in args.pages]
    if args.window_height:
        chrome = find_chromium()
        for page, png in jobs:
            simple_screenshot(chrome, page, png, args.width, args.window_height)
    else:
        for png, slices in full_page(jobs, args.width, args.settle):
            stitch(slices, png)
    for _, png in jobs:
        print(png)
        if args.tile:
            for part in tile(png, args.tile):
                print("  ", part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
