"""The wallboard's web pages as plain aiohttp handlers over a `LiveView`.

`/wallboard` (the page, with its two assets), `/wallboard.json` (its state once), `/live.json`
(the live tiles per queue and channel) and `/live/stream` (the wallboard state as server-sent
events, pushed as soon as the view changes). The state is computed once per change of the
view, for every open page, and open streams end when `close()` is called (the server shutting
down), so they never hold up a stop. Whoever serves the pages (every worker, and `ccpipe
wallboard`) mounts `routes()`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web

from pipeline.core.catalogue import HeadlineLookup
from pipeline.core.clock import ZoneLookup
from pipeline.core.live import AgentFigures, QueueFigures
from pipeline.core.thresholds import QueueLookup
from pipeline.targets import Targets
from pipeline.wallboard import asset
from pipeline.wallboard.board import AlertTracker, DayCounts, live_staffing, wallboard

# How long an open stream may stay silent before a comment line keeps proxies and the
# browser from timing the connection out, and how often "updated N s ago" is refreshed.
STREAM_KEEPALIVE_S = 15.0
STATUS_EVERY_S = 5.0
_ASSET_TYPES = {
    "wallboard.html": "text/html",
    "wallboard.css": "text/css",
    "wallboard.js": "text/javascript",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LiveView(Protocol):
    """What the pages read: the whole centre's tiles, today's interval counts per queue (the
    sparkline), the clock they are computed at, and how current they are."""

    @property
    def watermark_us(self) -> int: ...

    @property
    def generation(self) -> int:
        """Moves on whenever a figure may have changed."""
        ...

    def live(self, per_channel: bool = False) -> list[QueueFigures]: ...

    def day_counts(self) -> DayCounts: ...

    def agents(self) -> list[AgentFigures]: ...

    def status(self) -> dict[str, Any]: ...

    def next_change(self) -> asyncio.Future[None]:
        """Done at the next change, shared by every page that waits."""
        ...


class WallboardPages:
    def __init__(
        self,
        view: LiveView,
        targets: Targets,
        thresholds: QueueLookup,
        zone_of: ZoneLookup,
        headline: HeadlineLookup | None = None,
    ) -> None:
        self.view = view
        self.targets = targets
        self.thresholds = thresholds
        self.zone_of = zone_of
        self.headline = headline
        self.tracker = AlertTracker()
        self.staffing = live_staffing(targets, thresholds)
        self._state: dict[str, Any] = {}
        self._generation = -1
        self._body = b""
        self._body_key: tuple[int, bytes] = (-1, b"")
        self._frame = b""
        self._frame_key: tuple[int, int] = (-1, -1)
        self._closing: asyncio.Future[None] | None = None

    def close(self) -> None:
        """End every open stream (the server is shutting down)."""
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)

    def current(self) -> bytes:
        """The wallboard's JSON, made once per change of the view or of its status (how
        current it is, in whole seconds) for every page that asks."""
        view = self.view
        if view.generation != self._generation:
            self._generation = view.generation
            self._state = wallboard(
                view.live(per_channel=True),
                view.day_counts(),
                view.watermark_us,
                self.targets,
                self.tracker,
                self.thresholds,
                self.zone_of,
                view.agents(),
                self.staffing,
                self.headline,
            )
        status = view.status()
        key = (self._generation, orjson.dumps(status))
        if key != self._body_key:
            self._body_key = key
            self._body = orjson.dumps({**self._state, "status": status})
        return self._body

    def frame(self) -> bytes:
        """The state as one server-sent event, made once per change and second for every
        open stream (hundreds of wall screens cost one rendering, not hundreds)."""
        key = (self.view.generation, int(time.time()))
        if key != self._frame_key:
            self._frame_key = key
            self._frame = b"data: " + self.current() + b"\n\n"
        return self._frame

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
        body = orjson.dumps(
            {"watermark_us": self.view.watermark_us, "status": self.view.status(),
             "queues": figures}
        )  # fmt: skip
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
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_future()
        closing = self._closing
        quiet_since = time.monotonic()
        sent_at = -STATUS_EVERY_S
        generation = -1
        try:
            # Tell the browser to come back quickly after a restart.
            await response.write(b"retry: 2000\n\n")
            while not closing.done():
                now = time.monotonic()
                if generation != self.view.generation or now - sent_at >= STATUS_EVERY_S:
                    generation = self.view.generation
                    await response.write(self.frame())
                    sent_at = quiet_since = now
                elif now - quiet_since >= STREAM_KEEPALIVE_S:
                    await response.write(b": keepalive\n\n")
                    quiet_since = now
                # Shared futures: waiting creates no task of its own.
                await asyncio.wait(
                    {self.view.next_change(), closing},
                    timeout=max(0.0, sent_at + STATUS_EVERY_S - time.monotonic()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
        except ConnectionResetError:
            pass  # the page was closed
        return response


def _asset_handler(name: str) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(body=asset(name), content_type=_ASSET_TYPES[name], charset="utf-8")

    return serve
