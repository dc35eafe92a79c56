"""`ccpipe produce`: JSONL events into the events topic, in per-partition batches."""

from __future__ import annotations

import argparse
import sys
import time
from typing import IO, Any

SHOWN_BAD_LINES = 20
PROGRESS_EVERY_S = 2.0

DESCRIPTION = """\
Publish v1 events (one JSON object per line) to the events topic (cc.events). Events are
grouped by the partition their contract key maps to (contact_id, or agent_id for agent
events, under Kafka's default partitioner) and each group is sent as one message holding a
JSON array, so per-key order is kept and the workers pay per batch, not per event. Lines that
are not a JSON object with that key are sent alone, as they came, for the worker to
dead-letter with the reason; they are listed on stderr with their line numbers. From stdin,
pending batches leave whenever the input pauses, so live streams are not held back.

example: ccpipe simulate --contacts 20000 --seed 7 | ccpipe produce - --broker localhost:9092
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "produce",
        help="publish JSONL events to Kafka in per-partition batches",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="FILE", help="JSONL event file, or - for stdin")
    parser.add_argument(
        "--broker",
        help="bootstrap servers, host:port[,host:port] (default: the `broker` setting, "
        "CCPIPE_BROKER); security comes from CCPIPE_BROKER_* variables, see docs/kafka.md",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="most events per message (default 500); 1 sends each event as a plain JSON "
        "object, as platforms do",
    )
    parser.add_argument("--topic", help="topic to write (default: the `events_topic` setting)")
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        help="seconds to wait for the broker and the topic's metadata (default 15)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line or summary")
    parser.set_defaults(func=run)


class _Progress:
    """A progress line on stderr at most every PROGRESS_EVERY_S, shown only for long inputs."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream
        self.start = time.monotonic()
        self.next = self.start + PROGRESS_EVERY_S
        self.shown = False

    def __call__(self, counts: Any) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + PROGRESS_EVERY_S
        rate = counts.events / max(now - self.start, 1e-9)
        self.stream.write(
            f"\r{counts.events:,} events, {counts.messages:,} messages, {rate:,.0f} events/s "
        )
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.stream is not None and self.shown:
            self.stream.write("\n")


def run(args: argparse.Namespace) -> int:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError, KafkaTimeoutError

    from pipeline.config import ConfigError, load_settings
    from pipeline.kafka.connection import BrokerConnection
    from pipeline.kafka.producer import (
        DEFAULT_MAX_BATCH_BYTES,
        BadLine,
        ProduceError,
        idle_ticks,
        produce_lines,
    )

    if args.batch_size < 1:
        print("ccpipe produce: --batch-size must be at least 1", file=sys.stderr)
        return 2
    try:
        settings = load_settings(args.config)
        connection = BrokerConnection.from_settings(settings, broker=args.broker)
    except ConfigError as exc:
        print(f"ccpipe produce: {exc}", file=sys.stderr)
        return 2
    topic = args.topic or settings.events_topic
    try:
        source = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"ccpipe produce: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 2

    shown = 0

    def on_bad(bad: BadLine) -> None:
        nonlocal shown
        shown += 1
        if shown <= SHOWN_BAD_LINES:
            print(f"line {bad.line_no}: {bad.reason} (sent alone)", file=sys.stderr)
        elif shown == SHOWN_BAD_LINES + 1:
            print("further bad lines are counted, not listed", file=sys.stderr)

    progress = _Progress(None if args.quiet else sys.stderr)
    where = connection.bootstrap_string
    started = time.monotonic()
    try:
        producer = KafkaProducer(
            client_id="ccpipe-produce",
            linger_ms=5,
            # A whole batch message fits one producer batch, with the request limit above it.
            batch_size=DEFAULT_MAX_BATCH_BYTES + 64 * 1024,
            max_request_size=2 * 1024 * 1024,
            max_block_ms=int(args.timeout * 1000),
            bootstrap_timeout_ms=int(args.timeout * 1000),
            **connection.kafka_python_kwargs(),
        )
    except (KafkaError, OSError) as exc:
        print(f"ccpipe produce: cannot reach the broker at {where}: {exc}", file=sys.stderr)
        source.close()
        return 1
    try:
        lines = idle_ticks(source) if args.input == "-" else source
        counts = produce_lines(
            lines,
            producer,
            topic,
            batch_size=args.batch_size,
            on_bad=on_bad,
            on_sent=progress,
        )
    except KafkaTimeoutError as exc:
        progress.done()
        print(
            f"ccpipe produce: timed out talking to {where} ({exc}); does topic {topic} exist? "
            "(ccpipe topics create)",
            file=sys.stderr,
        )
        return 1
    except (ProduceError, KafkaError) as exc:
        progress.done()
        print(f"ccpipe produce: {exc}", file=sys.stderr)
        return 1
    finally:
        producer.close(timeout=10)
        source.close()
    progress.done()
    if not args.quiet:
        seconds = time.monotonic() - started
        rate = counts.events / max(seconds, 1e-9)
        print(
            f"ccpipe produce: {counts.summary()} to {topic} in {seconds:.1f} s "
            f"({rate:,.0f} events/s)",
            file=sys.stderr,
        )
    return 0
