"""The worker's own web pages, on Faust's web server: /metrics and /live.json."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from pipeline.stream.app import Pipeline


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
