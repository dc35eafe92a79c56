"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for page tests.

    with Chromium.launch(tmp_path) as browser:
        browser.open("http://127.0.0.1:6066/wallboard")
        browser.wait_for("document.body.dataset.ready === 'true'", deadline_s=30)
        tiles = browser.evaluate("...")
        browser.screenshot(tmp_path / "wallboard.png")

Chromium runs in its own session as a `ChildProcess` (the demo's own), so stopping it kills
its whole process group (renderers, zygotes) and a dying test run takes it along. The
DevTools websocket is aiohttp's client (a Faust dependency already): no browser package.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import psutil

from pipeline.demo.process import ChildProcess

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
WINDOW = (1920, 1080)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _crash_handlers() -> dict[int, psutil.Process]:
    found = {}
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("chrome_crashpad"):
            found[process.pid] = process
    return found


class Chromium:
    def __init__(self, child: ChildProcess, profile: Path) -> None:
        self.child = child
        self.profile = profile
        self.loop = asyncio.new_event_loop()
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ids = itertools.count(1)
        # Chromium's crash handlers leave its process group (they re-parent to init); the ones
        # that appeared with this browser are ended with it.
        self.helpers: list[psutil.Process] = []

    @classmethod
    def launch(cls, folder: Path, deadline_s: float = 30.0) -> Chromium:
        binary = chromium_path()
        if binary is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium)")
        profile = folder / "chromium-profile"
        profile.mkdir(parents=True)
        width, height = WINDOW
        child = ChildProcess(
            "chromium",
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            folder / "chromium.log",
            stop_deadline_s=5.0,
        )
        before = set(_crash_handlers())
        child.start()
        browser = cls(child, profile)
        try:
            browser._connect(deadline_s)
            browser.helpers = [p for pid, p in _crash_handlers().items() if pid not in before]
        except BaseException:
            browser.close()
            raise
        return browser

    def _connect(self, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        port_file = self.profile / "DevToolsActivePort"
        while not port_file.exists() or not port_file.read_text().strip():
            if not self.child.running or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start:\n{self.child.log_tail()}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        page_ws = None
        while page_ws is None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                page_ws = pages[0]["webSocketDebuggerUrl"]
            elif time.monotonic() > deadline:
                raise RuntimeError("chromium has no page to drive")
            else:
                time.sleep(0.1)
        self.loop.run_until_complete(self._open(page_ws))
        width, height = WINDOW
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.enable")

    async def _open(self, url: str) -> None:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(url, max_msg_size=0)

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.ws is not None
        ident = next(self.ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.loop.run_until_complete(self._call(method, params))

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, deadline_s: float, poll_s: float = 0.2) -> Any:
        """Poll a JavaScript expression until it is truthy; its value, or TimeoutError."""
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # the page is still loading: the names are not there yet
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression!r} still falsy after {deadline_s} s")
            time.sleep(poll_s)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        async def shut() -> None:
            if self.ws is not None:
                await self.ws.close()
            if self.session is not None:
                await self.session.close()

        try:
            self.loop.run_until_complete(shut())
        finally:
            self.loop.close()
            self.child.stop()
            _, alive = psutil.wait_procs(self.helpers, timeout=10)
            for process in alive:
                process.kill()
            psutil.wait_procs(alive, timeout=5)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
