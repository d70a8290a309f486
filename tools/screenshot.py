"""Full-page PNG screenshots of built book pages with headless Chromium (offline).

Usage::

    .venv/bin/python tools/screenshot.py _build/html intro chapters/02_gradient_descent \
        [--out tools/screenshots] [--width 1280] [--tile 1600]

For every page name (path of the page under the HTML folder, without ``.html``) it writes
``<out>/<name>.png`` (the whole page, ``/`` in names becomes ``__``) and, with ``--tile``,
``<out>/<name>.NN.png`` slices of that height, small enough to inspect in an image viewer.

Chromium runs headless with networking, sync and updates disabled and a fresh profile. A
plain ``--screenshot`` only captures the window, so the page height is measured first
through the DevTools protocol (over a websocket, with tornado, which Jupyter already
installs) and the page is captured at that height. ``--window-height N`` skips the
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
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--disable-extensions", "--mute-audio",
]
MAX_SLICE = 4000  # capture tall pages in slices: very tall single captures come back blank


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("Chromium not found: apt-get update && apt-get install -y chromium")


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


class DevTools:
    """The few DevTools-protocol calls we need, on one page target (flattened session)."""

    def __init__(self, ws):
        self.ws, self.ids, self.session = ws, itertools.count(1), None

    async def call(self, method, timeout=60, **params):
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        await self.ws.write_message(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.read_message(), deadline - time.monotonic())
            if raw is None:
                raise RuntimeError("Chromium closed the DevTools connection")
            reply = json.loads(raw)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def wait_event(self, name, timeout):
        deadline = time.monotonic() + timeout
        try:
            while True:
                raw = await asyncio.wait_for(self.ws.read_message(), deadline - time.monotonic())
                if raw is None or json.loads(raw).get("method") == name:
                    return
        except asyncio.TimeoutError:
            return  # a page whose CDN scripts never load still renders; take it as it is


async def full_page(port_file: Path, pages, width: int, settle: float):
    from tornado.websocket import websocket_connect

    for _ in range(200):  # Chromium writes the port once its DevTools server is up
        if port_file.exists() and len(port_file.read_text().split()) >= 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("Chromium did not start its DevTools server")
    port, path = port_file.read_text().split()[:2]
    ws = await websocket_connect(f"ws://127.0.0.1:{port}{path}", max_message_size=1 << 30)
    dt = DevTools(ws)
    target = (await dt.call("Target.createTarget", url="about:blank"))["targetId"]
    dt.session = (await dt.call("Target.attachToTarget", targetId=target, flatten=True))[
        "sessionId"]
    await dt.call("Page.enable")
    results = []
    for page, png in pages:
        await dt.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
                      deviceScaleFactor=1, mobile=False)
        await dt.call("Page.navigate", url=page.as_uri())
        await dt.wait_event("Page.loadEventFired", timeout=30)
        await asyncio.sleep(settle)
        height = (await dt.call("Runtime.evaluate", returnByValue=True,
                                expression="document.documentElement.scrollHeight"))
        height = int(height["result"]["value"])
        await dt.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        await asyncio.sleep(settle)
        slices = []
        for top in range(0, height, MAX_SLICE):
            shot = await dt.call("Page.captureScreenshot", format="png", clip={
                "x": 0, "y": top, "width": width,
                "height": min(MAX_SLICE, height - top), "scale": 1})
            slices.append(base64.b64decode(shot["data"]))
        results.append((png, slices))
    ws.close()
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
    chrome = find_chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(page_file(args.html_dir, name),
             args.out / (name.removesuffix(".html").replace("/", "__") + ".png"))
            for name in args.pages]
    if args.window_height:
        for page, png in jobs:
            simple_screenshot(chrome, page, png, args.width, args.window_height)
    else:
        with tempfile.TemporaryDirectory(prefix="shot-profile-") as profile:
            proc = subprocess.Popen(
                [chrome, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                 f"--window-size={args.width},900", "about:blank"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                results = asyncio.run(full_page(Path(profile) / "DevToolsActivePort", jobs,
                                                args.width, args.settle))
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for png, slices in results:
                stitch(slices, png)
    for _, png in jobs:
        print(png)
        if args.tile:
            for part in tile(png, args.tile):
                print("  ", part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
