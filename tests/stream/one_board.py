"""The live figures of one board over every event, in one process: what the partitions of a
run, merged, must add up to (the whole centre's view, the worker's summed gauges)."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.core.events import decode_message
from pipeline.core.kpi_state import KpiState
from pipeline.core.live import LiveBoard, QueueFigures, snapshot_many


def one_board(lines: list[bytes], settings: Settings) -> tuple[KpiState, list[QueueFigures]]:
    """The state after every line, and its tiles (channels too) at its watermark."""
    zones = settings.tenant_timezone
    state = KpiState(settings.queue, zones)
    for line in lines:
        state.apply(decode_message(line)[0])
    state.flush()
    board = LiveBoard.from_segments(
        state.segments.segments.values(), state.segments.queue_config, zones
    )
    now = state.segments.watermark_us
    tiles = snapshot_many(
        [board], now, zones, [state.segments.agents], per_channel=True,
        fcr=state.fcr.live_parts(now),
    )  # fmt: skip
    return state, tiles
