"""The /metrics page of the aiohttp servers (the worker's and the wallboard's).

It answers as prometheus-client's own server does (the sink's and ingest's): the whole
registry, or with `name[]` parameters only those series, made by only the collectors that
declare them. A reader that wants one counter often (a benchmark's progress, a health probe)
then does not pay for the live figures, which cost most of a full scrape: read every 2 s, they
took a third of a worker's CPU in the soak (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

_CONTENT_TYPE = CONTENT_TYPE_LATEST.split(";")[0]


def metrics_handler(
    registry: CollectorRegistry,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def metrics(request: web.Request) -> web.StreamResponse:
        names = request.query.getall("name[]", [])
        source = registry.restricted_registry(names) if names else registry
        return web.Response(body=generate_latest(source), content_type=_CONTENT_TYPE)

    return metrics
