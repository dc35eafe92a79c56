"""The demo's live feed: simulated events, paced against the wall clock, into the events topic.

Runs as a child process of the demo (`python -m pipeline.demo.feed ...`), so the simulator's
CPU and a slow broker never stall the demo's own loop. Events delivered before `--from`
(simulated time) are sent at once, so the wallboard opens on a morning already under way;
later ones at `--speed` times real time. Whatever is due leaves every `TICK_S` as the
contract's batches (`produce_lines`). With `--events-file`, every event is also written to
that file as it is handed to the producer, so `ccpipe kpis FILE` reports exactly what the
pipeline was sent. SIGTERM or SIGINT stops the feed cleanly: what is pending is sent and
flushed, then the file is closed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import IO, Any

import orjson

# Paced events leave in small batches at most this often: a message per partition per tick
# rather than one per event, at the cost of up to this much delay.
TICK_S = 0.25


def paced_lines(
    timed: Iterable[tuple[int, dict[str, Any]]],
    speed: float | None,
    stop: Callable[[], bool],
    from_us: int | None = None,
    until_us: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[bytes | None]:
    """JSON lines as they fall due, with None whenever the feed is about to wait (so that
    `produce_lines` sends what is pending). Ends at `until_us` or when `stop()` says so."""
    dumps = orjson.dumps
    origin_us: int | None = None
    wall0 = 0.0
    for at_us, event in timed:
        if stop() or (until_us is not None and at_us > until_us):
            return
        if speed is not None and (from_us is None or at_us >= from_us):
            if origin_us is None:
                origin_us, wall0 = at_us, clock()
                yield None  # the history before `from_us` leaves now
            due = wall0 + (at_us - origin_us) / 1e6 / speed
            now = clock()
            if due > now:
                yield None
                wake = max(due, now + TICK_S)
                while (left := wake - clock()) > 0:
                    if stop():
                        return
                    sleep(min(left, TICK_S))
        yield dumps(event)


def _tee(lines: Iterable[bytes | None], out: IO[bytes] | None) -> Iterator[bytes | None]:
    for line in lines:
        if out is not None:
            if line is None:
                out.flush()
            else:
                out.write(line + b"\n")
        yield line


def main(argv: list[str] | None = None) -> int:
    from kafka import KafkaProducer

    from pipeline.config import load_settings
    from pipeline.core.clock import parse_rfc3339
    from pipeline.kafka.connection import BrokerConnection
    from pipeline.kafka.producer import DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_BYTES, produce_lines
    from pipeline.simulator import simulate_timed

    parser = argparse.ArgumentParser(prog="python -m pipeline.demo.feed", description=__doc__)
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=60.0, help="0: as fast as possible")
    parser.add_argument("--start", default="2026-11-23T07:00:00Z")
    parser.add_argument("--from", dest="from_ts", help="send events before this at once")
    parser.add_argument("--until", help="stop feeding after this simulated time")
    parser.add_argument("--events-file", help="also write every event sent here (JSONL)")
    parser.add_argument(
        "--single",
        action="store_true",
        help="one event per message to the input topic, as platforms send (ccpipe ingest "
        "batches them)",
    )
    args = parser.parse_args(argv)

    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    settings = load_settings()  # CCPIPE_* from the demo: broker, topics, config file
    connection = BrokerConnection.from_settings(settings)
    producer = KafkaProducer(
        client_id="ccpipe-demo-feed",
        linger_ms=5,
        batch_size=DEFAULT_MAX_BATCH_BYTES + 64 * 1024,
        max_request_size=2 * 1024 * 1024,
        **connection.kafka_python_kwargs(),
    )
    timed = simulate_timed(args.contacts, args.seed, parse_rfc3339(args.start))
    lines = paced_lines(
        timed,
        args.speed or None,
        lambda: stopping,
        parse_rfc3339(args.from_ts) if args.from_ts else None,
        parse_rfc3339(args.until) if args.until else None,
    )
    out = open(args.events_file, "wb") if args.events_file else None  # noqa: SIM115
    started = time.monotonic()
    try:
        topic, batch = (
            (settings.ingest_topic, 1)
            if args.single
            else (settings.events_topic, DEFAULT_BATCH_SIZE)
        )
        counts = produce_lines(_tee(lines, out), producer, topic, batch_size=batch)
    finally:
        producer.close(timeout=10)
        if out is not None:
            out.close()
    took = time.monotonic() - started
    how = "stopped" if stopping else "finished"
    print(f"feed {how}: {counts.summary()} in {took:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
