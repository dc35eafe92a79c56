"""What the agents' live parts cost a publication once the clock has moved a minute.

    python -m bench.agent_parts [--events 300000] [--partitions 4] [--minutes 60]

The simulated events run through the stream stages in memory (as bench.stages does); then each
segments partition's agents are exported `--minutes` times, the clock one minute later each
time (what each publication does while event time moves: once a minute live, many times a
second while a worker catches up or in the soak). CPU time per export, median, the same run:
each part moved forward from its spans (`agents._advance`, now) against each part cut afresh
from the agent's whole day of changes (`agents._cut`, before; forced here by forgetting the
parts exported). A py-spy profile of a soak worker had 17 % of its CPU in those cuts
(docs/reliability.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bench.record import record
from bench.stages import processed
from pipeline.core.agents import MINUTE_US, AgentBoard
from pipeline.core.live import local_day_start_us

UTC = ZoneInfo("UTC")


def exports(board: AgentBoard, start_us: int, minutes: int, afresh: bool) -> list[float]:
    """CPU seconds of each export, the clock a minute later each time."""
    samples = []
    for minute in range(1, minutes + 1):
        now = start_us + minute * MINUTE_US
        if afresh:
            board._exported.clear()  # what the export was before `_advance`
        started = time.process_time()
        board.export(now, lambda tenant, now=now: local_day_start_us(now, UTC))
        samples.append(time.process_time() - started)
    return samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()
    runtime, events = processed(args.events, args.partitions)
    segments = runtime.topology.stages.segments
    moved: list[float] = []
    afresh: list[float] = []
    agents = changes = 0
    for state in segments.parts.values():
        board = state.agents
        agents += len(board)
        changes += sum(len(c) for by in board.history.values() for c in by.values())
        now = state.watermark_us
        measure: Callable[[bool], list[float]] = lambda fresh, b=board, n=now: exports(  # noqa: E731
            b, n, args.minutes, fresh
        )
        measure(False)  # every part cut once at the start, as a worker's first publication
        moved += measure(False)
        afresh += measure(True)
    now_ms, before_ms = median_ms(moved), median_ms(afresh)
    record(
        "agents' live parts, one publication a minute later",
        f"{now_ms:.2f} ms CPU an export moved forward vs {before_ms:.2f} ms cut afresh as "
        f"before ({before_ms / max(now_ms, 1e-6):.1f}x), median over {args.minutes} minutes x "
        f"{args.partitions} partitions; {agents:,} agents, {changes:,} changes held "
        f"({events:,} events)",
        packages=("msgspec",),
    )


if __name__ == "__main__":
    main()
