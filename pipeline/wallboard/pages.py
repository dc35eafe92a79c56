"""The wallboard's web pages as plain aiohttp handlers over a `LiveView`.

`/wallboard` (the page, with its two assets), `/wallboard.json` (its state once), `/live.json`
(the live tiles per queue and channel) and `/live/stream` (the wallboard state as server-sent
events, pushed whenever it changes). One computation per tick serves every open page, and
open streams end when `close()` is called (the server shutting down), so they never hold up
a stop. Whoever serves the pages (the worker's web server today) mounts `routes()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson
from aiohttp import web

from pipeline.core.live import QueueFigures, ZoneLookup
from pipeline.targets import Targets
from pipeline.wallboard import asset
from pipeline.wallboard.board import AlertTracker, HeldParts, wallboard

# How often an open stream looks for new figures, and how long it may stay silent before a
# comment line keeps proxies and the browser from timing the connection out.
STREAM_TICK_S = 1.0
STREAM_KEEPALIVE_S = 15.0
_ASSET_TYPES = {
    "wallboard.html": "text/html",
    "wallboard.css": "text/css",
    "wallboard.js": "text/javascript",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LiveView(Protocol):
    """What the pages read: the live tiles, the interval owners' held partials (for the day's
    sparkline) and the event-time watermark they are computed at."""

    @property
    def watermark_us(self) -> int: ...

    def live(self, per_channel: bool = False) -> list[QueueFigures]: ...

    def held(self) -> HeldParts: ...


class WallboardPages:
    def __init__(self, view: LiveView, zones: ZoneLookup, targets: Targets) -> None:
        self.view = view
        self.zones = zones
        self.targets = targets
        self.tracker = AlertTracker()
        self._body = b""
        self._at = -1.0
        self._closing = asyncio.Event()

    def close(self) -> None:
        """End every open stream (the server is shutting down)."""
        self._closing.set()

    def current(self, max_age_s: float = STREAM_TICK_S / 2) -> bytes:
        """The wallboard's JSON, computed at most once per tick for every page that asks."""
        now = time.monotonic()
        if now - self._at >= max_age_s:
            view = self.view
            state = wallboard(
                view.live(),
                view.held(),
                view.watermark_us,
                self.zones,
                self.targets,
                self.tracker,
            )
            self._body = orjson.dumps(state)
            self._at = now
        return self._body

    def routes(self) -> list[tuple[str, Handler]]:
        return [
            ("/wallboard", _asset_handler("wallboard.html")),
            ("/wallboard.css", _asset_handler("wallboard.css")),
            ("/wallboard.js", _asset_handler("wallboard.js")),
            ("/wallboard.json", self.snapshot),
            ("/live.json", self.live),
            ("/live/stream", self.stream),
        ]

    async def snapshot(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.current(), content_type="application/json")

    async def live(self, request: web.Request) -> web.StreamResponse:
        figures = [tile.as_dict() for tile in self.view.live(per_channel=True)]
        body = orjson.dumps({"watermark_us": self.view.watermark_us, "queues": figures})
        return web.Response(body=body, content_type="application/json")

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        sent = b""
        quiet_since = time.monotonic()
        try:
            # Tell the browser to come back quickly after a worker restart.
            await response.write(b"retry: 2000\n\n")
            while not self._closing.is_set():
                body = self.current()
                now = time.monotonic()
                if body != sent:
                    await response.write(b"data: " + body + b"\n\n")
                    sent, quiet_since = body, now
                elif now - quiet_since >= STREAM_KEEPALIVE_S:
                    await response.write(b": keepalive\n\n")
                    quiet_since = now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=STREAM_TICK_S)
        except ConnectionResetError:
            pass  # the page was closed
        return response


def _asset_handler(name: str) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(body=asset(name), content_type=_ASSET_TYPES[name], charset="utf-8")

    return serve
