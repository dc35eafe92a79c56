"""The worker's own web pages, on Faust's web server: /metrics, /live.json and the wallboard.

Wallboard pages (issue 7, `pipeline/wallboard/`): `/wallboard` (the page, with its two
assets), `/wallboard.json` (its state once) and `/live/stream` (the same state as
server-sent events, pushed whenever it changes). One computation per tick serves every
open page, and open streams end when the server shuts down, so they never hold up a stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from pipeline.stream.app import Pipeline

# How often an open stream looks for new figures, and how long it may stay silent before a
# comment line keeps proxies and the browser from timing the connection out.
STREAM_TICK_S = 1.0
STREAM_KEEPALIVE_S = 15.0
_ASSET_TYPES = {
    "wallboard.html": "text/html",
    "wallboard.css": "text/css",
    "wallboard.js": "text/javascript",
}


def add_pages(pipeline: Pipeline) -> None:
    app = pipeline.app

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        body = generate_latest(pipeline.registry)
        return web.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/live.json")
    async def live(web: Any, request: Any) -> Any:
        figures = [tile.as_dict() for tile in pipeline.segment_stage.live(per_channel=True)]
        watermark = pipeline.segment_stage.watermark_us
        body = orjson.dumps({"watermark_us": watermark, "queues": figures})
        return web.bytes(body, content_type="application/json")

    add_wallboard_pages(pipeline)


class _WallboardState:
    """The wallboard's JSON, computed at most once per tick for every page that asks."""

    def __init__(self, pipeline: Pipeline) -> None:
        from pipeline.targets import targets_from_settings
        from pipeline.wallboard.board import AlertTracker

        self.pipeline = pipeline
        self.targets = targets_from_settings(pipeline.settings)
        self.tracker = AlertTracker()
        self.body = b""
        self.at = -1.0

    def current(self, max_age_s: float = STREAM_TICK_S / 2) -> bytes:
        from pipeline.wallboard.board import wallboard

        now = time.monotonic()
        if now - self.at >= max_age_s:
            p = self.pipeline
            stage = p.segment_stage
            state = wallboard(
                stage.live(),
                p.interval_stage.parts,
                stage.watermark_us,
                p.settings,
                self.targets,
                self.tracker,
            )
            self.body = orjson.dumps(state)
            self.at = now
        return self.body


def add_wallboard_pages(pipeline: Pipeline) -> None:
    from aiohttp import web as aioweb

    from pipeline.wallboard import asset

    app = pipeline.app
    state = _WallboardState(pipeline)
    closing = asyncio.Event()

    async def on_shutdown(_: Any) -> None:
        closing.set()

    # Faust's aiohttp driver: open streams end when its server shuts down.
    web_app: Any = getattr(app.web, "web_app", None)
    if web_app is not None:
        web_app.on_shutdown.append(on_shutdown)

    def page(name: str) -> Any:
        async def serve(web: Any, request: Any) -> Any:
            return aioweb.Response(
                body=asset(name), content_type=_ASSET_TYPES[name], charset="utf-8"
            )

        return serve

    app.page("/wallboard")(page("wallboard.html"))
    app.page("/wallboard.css")(page("wallboard.css"))
    app.page("/wallboard.js")(page("wallboard.js"))

    @app.page("/wallboard.json")
    async def snapshot(web: Any, request: Any) -> Any:
        return web.bytes(state.current(), content_type="application/json")

    @app.page("/live/stream")
    async def stream(web: Any, request: Any) -> Any:
        response = aioweb.StreamResponse(
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
            while not closing.is_set():
                body = state.current()
                now = time.monotonic()
                if body != sent:
                    await response.write(b"data: " + body + b"\n\n")
                    sent, quiet_since = body, now
                elif now - quiet_since >= STREAM_KEEPALIVE_S:
                    await response.write(b": keepalive\n\n")
                    quiet_since = now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closing.wait(), timeout=STREAM_TICK_S)
        except ConnectionResetError:
            pass  # the page was closed
        return response
