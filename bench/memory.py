"""Resident memory of the KPI core's state: per 1 M open segments, FCR customers, contacts
waiting on the live board and agents.

    python -m bench.memory [--count 1000000] [--trace]

Each figure comes from its own fresh subprocess, so the baseline holds only the imports and a
warm-up: RSS is read after those, then again once the state holds `--count` items, and the
difference is what the items cost. The state is fed the way the stream feeds it:

- open segments: `contact.offered` events (distinct contacts, a customer each, no outcome)
  decoded from JSON batches by `decode_message`, applied to a `SegmentState` and flushed
  batch by batch, as the contact-keyed segment stage does;
- FCR customers: one handled segment per distinct customer, as `FcrFact`s that went through
  the stream's codec (`encode_fcr_message` / `decode_fcr_message`) into an `FcrTracker`,
  flushed batch by batch as the customer-keyed FCR stage does. Read twice: while every
  window is still open (each fact also waits in the closing heap), and after the watermark
  passed them all (what an old customer costs for as long as it is kept);
- contacts waiting on the live board: the open segments above (built before the baseline)
  applied to a worker's `LiveBoard` (what the live view adds per waiting contact: its entry,
  its place in the queue's heap and in the minute and day buckets);
- agents: `agent.state` events decoded from JSON batches into an `AgentBoard`, four changes an
  agent over a day (available, busy, after-contact work, available), two queues and a team
  each, as the segment stage keeps them for the wallboard's agent panel and occupancy.

`--trace` runs the same children under tracemalloc and prints the allocation sites that hold
the most (RSS figures are then inflated by tracemalloc itself, so nothing is recorded).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import psutil

from bench.record import record
from pipeline.config import load_settings
from pipeline.core.agents import AgentBoard
from pipeline.core.clock import US_PER_S, interval_start_us, parse_rfc3339, us_to_datetime
from pipeline.core.events import AgentState, decode_message
from pipeline.core.fcr import FcrFact, FcrTracker
from pipeline.core.intervals import IntervalKey
from pipeline.core.kpi_state import SegmentState, apply_fcr_updates
from pipeline.core.live import LiveBoard
from pipeline.core.segments import SegmentId
from pipeline.core.thresholds import DEFAULT_FCR_WINDOW_S
from pipeline.runtime import tune_gc
from pipeline.stream.codec import decode_fcr_message, encode_fcr_message

BATCH = 4096  # items per batch (the offline report's batch of lines)
WARM_UP = 2 * BATCH
START_US = parse_rfc3339("2026-11-23T07:00:00Z")
DAY_US = 86_400 * US_PER_S
QUEUES = ("sales", "support", "billing")
CHANNELS = ("voice", "chat", "email")
TRACE_TOP = 12
MIB = 1 << 20
KINDS = ("segments", "fcr", "waiting", "agents")


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def offered_us(i: int, count: int) -> int:
    """Offers spread over one day, in order (the items' intervals are the day's)."""
    return START_US + i * (DAY_US // max(count, 1))


def offered_batches(prefix: str, count: int) -> Iterator[bytes]:
    """JSON batches of `contact.offered` events shaped like the simulator's."""
    for start in range(0, count, BATCH):
        events = []
        for i in range(start, min(count, start + BATCH)):
            ts = us_to_datetime(offered_us(i, count)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            events.append(
                f'{{"event_id":"{prefix}-{i:09d}","type":"contact.offered","ts":"{ts}Z",'
                f'"contact_id":"c{prefix}-{i}","queue":"{QUEUES[i % 3]}",'
                f'"channel":"{CHANNELS[i % 3]}","customer_id":"cust-{i * 7 % 2_000_000}",'
                f'"reason":"new_order"}}'
            )
        yield ("[" + ",".join(events) + "]").encode()


def open_segments(prefix: str, count: int) -> SegmentState:
    state = SegmentState(load_settings(env={}).queue)
    for message in offered_batches(prefix, count):
        events, rejections = decode_message(message)
        assert not rejections, rejections[0].reason
        state.apply(events)
        state.flush()
    assert len(state.segments) == count
    return state


def agent_batches(prefix: str, count: int) -> Iterator[bytes]:
    """JSON batches of `agent.state` events: four changes per agent over the day."""
    states = ("available", "busy", "acw", "available")
    for start in range(0, count, BATCH):
        events = []
        for i in range(start, min(count, start + BATCH)):
            for n, state in enumerate(states):
                ts_us = START_US + n * 3_600 * US_PER_S + i % 1000 * US_PER_S
                ts = us_to_datetime(ts_us).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
                events.append(
                    f'{{"event_id":"{prefix}-a{i:09d}-{n}","type":"agent.state","ts":"{ts}Z",'
                    f'"agent_id":"agent-{prefix}-{i}","state":"{state}",'
                    f'"queues":["{QUEUES[i % 3]}","{QUEUES[(i + 1) % 3]}"],'
                    f'"team":"team-{i % 20}"}}'
                )
        yield ("[" + ",".join(events) + "]").encode()


def agents(prefix: str, count: int) -> AgentBoard:
    board = AgentBoard()
    for message in agent_batches(prefix, count):
        events, rejections = decode_message(message)
        assert not rejections, rejections[0].reason
        for event in events:
            assert isinstance(event, AgentState)
            board.apply(event)
    assert len(board) == count
    return board


def waiting_board(segments: SegmentState) -> LiveBoard:
    board = LiveBoard()
    board.update(segments.segments.values(), segments.queue_config)
    assert board.open_segments == len(segments.segments)
    return board


def fact_batches(prefix: str, count: int) -> Iterator[tuple[int, bytes]]:
    """Encoded FCR messages, one handled segment of a distinct customer per fact."""
    window_us = DEFAULT_FCR_WINDOW_S * US_PER_S
    for start in range(0, count, BATCH):
        facts = []
        for i in range(start, min(count, start + BATCH)):
            ts = offered_us(i, count)
            queue, channel = QUEUES[i % 3], CHANNELS[i % 3]
            facts.append(
                FcrFact(
                    SegmentId("default", f"c{prefix}-{i}", queue),
                    f"cust-{prefix}-{i}",
                    ts,
                    True,
                    True,
                    window_us,
                    IntervalKey("default", queue, channel, interval_start_us(ts)),
                )
            )
        watermark = facts[-1].offered_us
        yield watermark, encode_fcr_message("segments:0", watermark, list(facts))


def fcr_customers(prefix: str, count: int) -> FcrTracker:
    tracker = FcrTracker()
    for watermark, message in fact_batches(prefix, count):
        _, _, updates = decode_fcr_message(message)
        apply_fcr_updates(tracker, updates)
        tracker.observe(watermark)
        tracker.flush()
    assert len(tracker) == count
    return tracker


def settle(tracker: FcrTracker) -> None:
    """Move the watermark past every window: each fact is evaluated and leaves the heap."""
    tracker.observe(START_US + DAY_US + DEFAULT_FCR_WINDOW_S * US_PER_S + 1)
    tracker.flush()
    tracker.intervals.take_changed()


def top_sites(snapshot: tracemalloc.Snapshot, count: int) -> list[list[Any]]:
    stats = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)]).statistics(
        "lineno"
    )
    return [
        [f"{s.traceback[0].filename.rsplit('/', 2)[-1]}:{s.traceback[0].lineno}", s.size, s.count]
        for s in stats[:TRACE_TOP]
    ]


def builder(kind: str, count: int) -> Callable[[str, int], object]:
    """What `kind` builds; for the live board, the segments it reads are made beforehand."""
    if kind == "waiting":
        segments = {n: open_segments(f"s{n}", n) for n in (WARM_UP, count)}
        return lambda _prefix, n: waiting_board(segments[n])
    builds: dict[str, Callable[[str, int], object]] = {
        "segments": open_segments,
        "fcr": fcr_customers,
        "agents": agents,
    }
    return builds[kind]


def child(kind: str, count: int, trace: bool) -> dict[str, Any]:
    """Build one state in this (fresh) process; RSS before and after, in bytes."""
    tune_gc()  # as every ccpipe command does
    build = builder(kind, count)
    warm = build("w", WARM_UP)  # imports, caches and code paths, then thrown away
    if isinstance(warm, FcrTracker):
        settle(warm)
    del warm
    if trace:
        tracemalloc.start()
    out: dict[str, Any] = {"baseline": rss()}
    state = build("m", count)
    out["after"] = rss()
    if trace:
        out["top"] = top_sites(tracemalloc.take_snapshot(), TRACE_TOP)
    if isinstance(state, FcrTracker):
        settle(state)
        out["settled"] = rss()
        if trace:
            out["top_settled"] = top_sites(tracemalloc.take_snapshot(), TRACE_TOP)
    return out


def measure(kind: str, count: int, trace: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.memory", "--child", kind, "--count", str(count)]
    done = subprocess.run(
        [*command, *(["--trace"] if trace else [])], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def per_million(grown: int, count: int) -> str:
    return f"{grown / count * 1_000_000 / MIB:,.0f} MiB per 1 M ({grown / count:,.0f} bytes each)"


def show_top(title: str, top: list[list[Any]], count: int) -> None:
    print(f"{title}: the allocation sites holding most, bytes per item")
    for site, size, blocks in top:
        print(f"  {size / count:8,.0f}  {blocks / count:6.2f} blocks  {site}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--trace", action="store_true", help="tracemalloc top sites, no record")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.count
    if args.child:
        print(json.dumps(child(args.child, n, args.trace)))
        return

    seg = measure("segments", n, args.trace)
    fcr = measure("fcr", n, args.trace)
    live = measure("waiting", n, args.trace)
    people = measure("agents", n, args.trace)
    if args.trace:
        show_top("open segments", seg["top"], n)
        show_top("FCR customers, windows open", fcr["top"], n)
        show_top("FCR customers, windows closed", fcr["top_settled"], n)
        show_top("contacts waiting on the live board", live["top"], n)
        show_top("agents", people["top"], n)
        return
    record(
        "memory: open segments (SegmentState, offered only)",
        f"{per_million(seg['after'] - seg['baseline'], n)}; {n:,} segments, "
        f"baseline {seg['baseline'] / MIB:,.0f} MiB",
        packages=("msgspec", "psutil"),
    )
    record(
        "memory: FCR customers (FcrTracker, one handled segment each)",
        f"{per_million(fcr['after'] - fcr['baseline'], n)} with windows open, "
        f"{per_million(fcr['settled'] - fcr['baseline'], n)} once closed; {n:,} customers, "
        f"baseline {fcr['baseline'] / MIB:,.0f} MiB",
        packages=("msgspec", "psutil"),
    )
    record(
        "memory: contacts waiting on the live board (LiveBoard, beside their open segments)",
        f"{per_million(live['after'] - live['baseline'], n)}; {n:,} waiting contacts, "
        f"baseline {live['baseline'] / MIB:,.0f} MiB (their segments included)",
        packages=("msgspec", "psutil"),
    )
    record(
        "memory: agents (AgentBoard, four state changes each)",
        f"{per_million(people['after'] - people['baseline'], n)}; {n:,} agents, "
        f"baseline {people['baseline'] / MIB:,.0f} MiB",
        packages=("msgspec", "psutil"),
    )


if __name__ == "__main__":
    main()
