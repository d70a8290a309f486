"""Headless Chromium driven through the DevTools protocol: what the book tests and the
screenshot tool need, and nothing more.

``Chromium`` starts the browser (offline flags, a fresh profile), opens one page target and
records what a reader would see go wrong: console errors, uncaught exceptions, and requests
that failed. Usage::

    with Chromium() as browser:
        report = browser.visit("http://127.0.0.1:8000/intro.html")
        value = browser.evaluate("document.title")

If Chromium is missing: ``apt-get update && apt-get install -y chromium`` (``make test``
does it when run as root).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--disable-extensions", "--mute-audio",
]


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("Chromium not found: apt-get update && apt-get install -y chromium")


@dataclasses.dataclass
class PageReport:
    """What went wrong while a page loaded (empty lists: nothing)."""

    url: str
    console_errors: list[str] = dataclasses.field(default_factory=list)
    exceptions: list[str] = dataclasses.field(default_factory=list)
    failed_requests: list[str] = dataclasses.field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.console_errors + self.exceptions + self.failed_requests


class DevTools:
    """Calls on one page target (a flattened session); events are handed to ``on_event``."""

    def __init__(self, ws, on_event=None):
        self.ws, self.ids, self.session = ws, itertools.count(1), None
        self.on_event = on_event or (lambda method, params: None)

    async def _next(self, deadline):
        raw = await asyncio.wait_for(self.ws.read_message(), deadline - time.monotonic())
        if raw is None:
            raise RuntimeError("Chromium closed the DevTools connection")
        message = json.loads(raw)
        if "method" in message:
            self.on_event(message["method"], message.get("params", {}))
        return message

    async def call(self, method, timeout=60, **params):
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        await self.ws.write_message(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            reply = await self._next(deadline)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def wait_event(self, name, timeout) -> bool:
        """Wait for event ``name``; False when it did not come within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                if (await self._next(deadline)).get("method") == name:
                    return True
        except asyncio.TimeoutError:
            return False


async def connect(port_file: Path, on_event=None) -> DevTools:
    """Attach to a fresh page target of the Chromium whose DevToolsActivePort is given."""
    from tornado.websocket import websocket_connect

    for _ in range(400):  # Chromium writes the port once its DevTools server is up
        if port_file.exists() and len(port_file.read_text().split()) >= 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("Chromium did not start its DevTools server")
    port, path = port_file.read_text().split()[:2]
    ws = await websocket_connect(f"ws://127.0.0.1:{port}{path}", max_message_size=1 << 30)
    dt = DevTools(ws, on_event)
    target = (await dt.call("Target.createTarget", url="about:blank"))["targetId"]
    dt.session = (await dt.call("Target.attachToTarget", targetId=target,
                                flatten=True))["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        await dt.call(f"{domain}.enable")
    return dt


class Chromium:
    """A headless Chromium with one page, used synchronously (see the module docstring)."""

    def __init__(self, width: int = 1280, height: int = 900):
        self.width, self.height = width, height
        self._report: PageReport | None = None

    def __enter__(self):
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-",
                                                    ignore_cleanup_errors=True)
        self._proc = subprocess.Popen(
            [find_chromium(), *FLAGS, f"--user-data-dir={self._profile.name}",
             "--remote-debugging-port=0", f"--window-size={self.width},{self.height}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._loop = asyncio.new_event_loop()
        try:
            self.dt = self._loop.run_until_complete(
                connect(Path(self._profile.name) / "DevToolsActivePort", self._record))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if getattr(self, "dt", None) is not None:
            self.dt.ws.close()
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._loop.close()
        self._profile.cleanup()

    def _record(self, method, params):
        report = self._report
        if report is None:
            return
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            report.exceptions.append(f"exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = [a.get("value", a.get("description", "")) for a in params.get("args", [])]
            report.console_errors.append("console: " + " ".join(map(str, args)))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            report.console_errors.append(f"log: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            report.failed_requests.append(f"request failed: {params.get('errorText')}")

    def run(self, coroutine):
        return self._loop.run_until_complete(coroutine)

    def visit(self, url: str, settle: float = 0.5, timeout: float = 60) -> PageReport:
        """Load ``url``, wait for its load event and ``settle`` seconds more; report problems."""
        self._report = report = PageReport(url)
        self.run(self.dt.call("Page.navigate", url=url))
        if not self.run(self.dt.wait_event("Page.loadEventFired", timeout)):
            report.exceptions.append(f"no load event within {timeout} s")
        self.run(self.dt.wait_event("never", settle))  # collect late events
        return report

    def evaluate(self, expression: str, await_promise: bool = False, timeout: float = 60):
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.run(self.dt.call("Runtime.evaluate", timeout=timeout,
                                       expression=expression, returnByValue=True,
                                       awaitPromise=await_promise))
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def set_viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.run(self.dt.call("Emulation.setDeviceMetricsOverride", width=width,
                              height=height, deviceScaleFactor=1, mobile=mobile))
