"""What a wallboard must show, computed independently of any worker: one board over every
event, at their largest event time, through the same page code (`wallboard`)."""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.config import Settings
from pipeline.core.events import decode_message
from pipeline.core.kpi_state import KpiState
from pipeline.core.live import LiveBoard, MergedBoard, agent_states
from pipeline.wallboard.board import AlertTracker, wallboard


def expected_page(lines: list[bytes], settings: Settings) -> tuple[int, list[dict[str, Any]]]:
    """(watermark, the `queues` of /wallboard.json) of one board over every event."""
    state = KpiState(settings.queue)
    for line in lines:
        if line.strip():
            state.apply(decode_message(line)[0])
    state.flush()
    segments = state.segments
    board = LiveBoard.from_segments(segments.segments.values(), segments.queue_config)
    now = segments.watermark_us
    zones = settings.tenant_timezone
    merged = MergedBoard()
    cut = board.export(now, zones)
    merged.replace("all", cut.recent, agent_states([segments.agents]))
    merged.replace("all/day", cut.day)
    page = wallboard(
        merged.figures(now, zones),
        merged.day_series(now, zones),
        now,
        settings.targets,
        AlertTracker(),
    )
    queues: list[dict[str, Any]] = orjson.loads(orjson.dumps(page["queues"]))
    return now, queues
