"""What a wallboard must show, computed independently of any worker: one board over every
event, at their largest event time, through the same page code (`wallboard`)."""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.config import Settings
from pipeline.core.events import decode_message
from pipeline.core.kpi_state import KpiState
from pipeline.core.live import LiveBoard, MergedBoard, agent_parts
from pipeline.wallboard.board import AlertTracker, wallboard

# The parts of /wallboard.json that come from the events: the queues (with their channels)
# and the agent panel.
Shown = dict[str, list[dict[str, Any]]]


def expected_page(lines: list[bytes], settings: Settings) -> tuple[int, Shown]:
    """(watermark, /wallboard.json's `queues` and `agents`) of one board over every event."""
    state = KpiState(settings.queue, settings.tenant_timezone)
    for line in lines:
        if line.strip():
            state.apply(decode_message(line)[0])
    state.flush()
    segments = state.segments
    zones = settings.tenant_timezone
    board = LiveBoard.from_segments(segments.segments.values(), segments.queue_config, zones)
    now = segments.watermark_us
    merged = MergedBoard()
    cut = board.export(now)
    merged.replace("all", cut.recent, agent_parts([segments.agents], now, zones))
    merged.replace("all/day", cut.day)
    merged.replace_fcr("fcr", state.fcr.live_parts(now))
    page = wallboard(
        merged.figures(now, zones, per_channel=True),
        merged.day_series(now, zones),
        now,
        settings.targets,
        AlertTracker(),
        settings.queue,
        zones,
        merged.agent_rows(now, zones),
    )
    return now, shown(page)


def shown(page: dict[str, Any]) -> Shown:
    """The parts of a page `expected_page` gives, as plain JSON values."""
    out: Shown = orjson.loads(orjson.dumps({"queues": page["queues"], "agents": page["agents"]}))
    return out
