"""`ccpipe wallboard`'s server: the live topic followed into a view, the pages over it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from pipeline.config import Settings
from pipeline.core.clock import US_PER_S
from pipeline.liveview.metrics import LiveViewCollector
from pipeline.liveview.reader import follow
from pipeline.liveview.view import CentreView
from pipeline.metrics_page import metrics_handler
from pipeline.wallboard.board import live_staffing
from pipeline.wallboard.pages import WallboardPages


def centre_view(settings: Settings) -> CentreView:
    """The whole centre's view as the settings define it (every reader builds it so)."""
    return CentreView(
        settings.partitions,
        settings.tenant_timezone,
        round(settings.max_wait_s * US_PER_S),
        settings.live_stale_after_s,
    )


def view_collector(view: CentreView, settings: Settings) -> LiveViewCollector:
    """The view's metrics, live staffing advice included, as the settings define them."""
    return LiveViewCollector(view, live_staffing(settings.targets, settings.queue))


def application(
    view: CentreView, pages: WallboardPages, collector: LiveViewCollector | None = None
) -> web.Application:
    registry = CollectorRegistry()
    registry.register(collector or LiveViewCollector(view))

    async def home(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/wallboard")

    app = web.Application()
    app.router.add_get("/", home)
    app.router.add_get("/metrics", metrics_handler(registry))
    for path, handler in pages.routes():
        app.router.add_get(path, handler)
    return app


async def serve(settings: Settings, announce: Callable[[str], None] = print) -> None:
    """Serve until SIGINT or SIGTERM."""
    view = centre_view(settings)
    pages = WallboardPages(
        view,
        settings.targets,
        settings.queue,
        settings.tenant_timezone,
        settings.headline_service_level,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(
        application(view, pages, view_collector(view, settings)), access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.wallboard_port)
    await site.start()
    reader = asyncio.create_task(follow(settings, view, stop))
    announce(
        f"ccpipe wallboard: http://{settings.web_host}:{settings.wallboard_port}/wallboard "
        f"(live topic {settings.live_topic} on {settings.broker})"
    )
    try:
        await stop.wait()
    finally:
        pages.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await runner.cleanup()
