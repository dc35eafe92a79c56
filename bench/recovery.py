"""Recovery after SIGKILL with a million events of state: kill to first commit, kill to caught up.

    python -m bench.recovery [--events 1000000] [--extra 50000] [--extra-rate 10000]
                             [--partitions 4] [--log-dir DIR] [--loglevel info]

1. A fresh events topic gets `--events` simulated events (500-event batch messages, as
   `ccpipe produce` sends them) and worker A runs until its three source topics (the events
   and the two internal topics) are committed to their end: its tables' changelogs now hold
   the state of those events.
2. `--extra` further events are produced at `--extra-rate` events/s, in the same batch
   messages. When A's `ccpipe_events_total` shows half of them processed, A gets SIGKILL: it
   dies mid-stream with input processed but not committed (reported: the messages between
   the committed offsets and the ends, read just after the kill). The producer carries on to
   the end, as producers do when a worker dies.
3. Worker B starts at once with the same config file (group, state dir, port). From the kill
   we measure B's first commit (the first committed offset past where A left it, on any of
   the three topics) and caught up: the events topic, then the FCR topic, then the partials
   topic committed to their end, each end read once its upstream is caught up (and the
   producer has finished), so the last interval row is written.

What B waits for: the dead member keeps its partitions until its session times out
(`broker_session_timeout_s`), then B's tables replay their changelogs before it reads input.
The target (issue "Benchmarks") is under 60 s from the kill to caught up.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.events import simulated
from bench.kafka_env import (
    broker,
    create_and_fill,
    end_offsets,
    fresh_settings,
    group_lag,
    wait_caught_up,
    write_config,
)
from bench.latency import MetricsClient, wait_events
from bench.record import record
from bench.workers import free_port, start_worker, stop
from pipeline.config import Settings
from pipeline.kafka.group_lag import GroupLag, Offsets, uncommitted
from pipeline.stream.topology import source_topic_names

TARGET_S = 60.0
PRODUCE_TICK_S = 0.1
KILL_AT = 0.5  # of the further events processed by A when it is killed


def split_events(source: Path, head: Path, count: int, extra: int) -> list[bytes]:
    """The first `count` lines of `source` into `head`; the next `extra` lines returned."""
    with source.open("rb") as handle:
        head.write_bytes(b"".join(itertools.islice(handle, count)))
        return [line.rstrip(b"\n") for line in itertools.islice(handle, extra)]


def paced(data: Sequence[bytes], rate: float) -> Iterator[bytes | None]:
    """The lines at a steady rate: each tick's share, then None (send what is pending)."""
    per_tick = max(1, round(rate * PRODUCE_TICK_S))
    start = time.monotonic()
    for tick, at in enumerate(range(0, len(data), per_tick), start=1):
        yield from data[at : at + per_tick]
        yield None
        # Pacing step of the steady-rate producer: sleep until the next tick.
        time.sleep(max(0.0, start + tick * PRODUCE_TICK_S - time.monotonic()))


class Producer(threading.Thread):
    """Produces the further events on its own thread, as `ccpipe produce` would."""

    def __init__(self, settings: Settings, data: Sequence[bytes], rate: float) -> None:
        super().__init__(name="producer", daemon=True)
        self.settings, self.data, self.rate = settings, data, rate
        self.error: BaseException | None = None

    def run(self) -> None:
        from kafka import KafkaProducer

        from pipeline.kafka.producer import produce_lines

        try:
            producer = KafkaProducer(
                bootstrap_servers=self.settings.broker, linger_ms=20, acks="all"
            )
            try:
                produce_lines(paced(self.data, self.rate), producer, self.settings.events_topic)
            finally:
                producer.close()
        except BaseException as exc:
            self.error = exc


def advanced(committed: Offsets, since: Offsets) -> bool:
    """Whether any committed offset has moved past where it was."""
    return any(offset > since.get(tp, 0) for tp, offset in committed.items())


def changelog_records(settings: Settings) -> int:
    """Records in the app's changelog topics: what a new worker replays to rebuild its tables."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=settings.broker)
    try:
        topics = [
            t
            for t in consumer.topics()
            if t.startswith(settings.app_id) and t.endswith("-changelog")
        ]
    finally:
        consumer.close()
    return sum(sum(end_offsets(settings.broker, t).values()) for t in topics)


# What a worker's log says at info level, in the order it happens after a start.
MILESTONES = {"joined the group": "] Joined group ", "rebuilt its tables": "Recovery complete"}
_STAMP = "%Y-%m-%d %H:%M:%S,%f"


def milestones(log: Path, since: float) -> dict[str, float]:
    """Seconds from `since` (a Unix time) to the first log line of each milestone."""
    found: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        for name, marker in MILESTONES.items():
            if name not in found and marker in line and line.startswith("["):
                try:
                    at = datetime.strptime(line[1:24], _STAMP).timestamp()
                except ValueError:
                    continue
                found[name] = at - since
    return found


@dataclass
class Recovery:
    first_commit_s: float | None
    caught_up_s: float
    processed_at_kill: int
    uncommitted_at_kill: int
    changelog: int
    steps: dict[str, float]


def recover(
    settings: Settings,
    work: Path,
    config: Path,
    port: int,
    extra: list[bytes],
    args: argparse.Namespace,
) -> Recovery:
    """Worker A on the filled topic until caught up; the further events; kill; worker B."""
    logs = args.log_dir or work
    worker_a = start_worker(config, logs / "worker-a.log", args.loglevel)
    offsets = group_lag(settings)
    worker_b = None
    try:
        catch_up(settings, 1800)
        base, changelog = events_seen(port), changelog_records(settings)
        print(f"worker A caught up on {base:,} events ({changelog:,} changelog records)")
        producer = Producer(settings, extra, args.extra_rate)
        producer.start()
        processed = kill_mid_way(worker_a, port, base + round(len(extra) * KILL_AT)) - base
        killed, killed_wall = time.monotonic(), time.time()
        # B starts first; what A left is read just after, long before B can commit (it waits
        # out A's session first).
        worker_b = start_worker(config, logs / "worker-b.log", args.loglevel)
        at_kill = offsets.committed()
        ends = offsets.ends()
        if ends is None:
            raise TimeoutError("the ends of the source topics could not be read")
        lag_at_kill = sum(uncommitted(at_kill, ends).values())
        first = first_commit(offsets, at_kill, killed, 600)
        producer.join()
        if producer.error is not None:
            raise producer.error
        catch_up(settings, 600)
        caught_up = time.monotonic() - killed
    finally:
        offsets.close()
        stop(worker_a)
        if worker_b is not None:
            stop(worker_b)
    steps = milestones(logs / "worker-b.log", killed_wall)
    return Recovery(first, caught_up, processed, lag_at_kill, changelog, steps)


def catch_up(settings: Settings, deadline_s: float) -> None:
    """Wait until the events topic, then the FCR topic, then the partials topic are committed
    to their end, each end read once its upstream is done (so the last interval row is out)."""
    for topic in source_topic_names(settings):
        wait_caught_up(settings.broker, settings.app_id, topic, deadline_s)


def events_seen(port: int) -> int:
    client = MetricsClient(port)
    try:
        return wait_events(client, 1, 60)
    finally:
        client.close()


def kill_mid_way(worker: subprocess.Popen[bytes], port: int, at: int) -> int:
    """SIGKILL the worker once its events count reaches `at`; the count it had."""
    client = MetricsClient(port)
    try:
        count = wait_events(client, at, 300)
    finally:
        client.close()
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    return count


def first_commit(
    offsets: GroupLag, at_kill: Offsets, killed: float, deadline_s: float
) -> float | None:
    """Seconds from the kill to the first committed offset past what A left (None: unseen)."""
    while time.monotonic() - killed < deadline_s:
        if advanced(offsets.committed(), at_kill):
            return time.monotonic() - killed
        time.sleep(0.1)  # polling step of a wait with a deadline
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events of state (default 1,000,000)"
    )
    parser.add_argument(
        "--extra", type=int, default=50_000, help="further events, killed mid-way (default 50,000)"
    )
    parser.add_argument(
        "--extra-rate", type=float, default=10_000, help="events/s of the further events"
    )
    parser.add_argument("--partitions", type=int, default=4, help="of every topic (default 4)")
    parser.add_argument("--log-dir", type=Path, help="keep the two workers' logs here")
    parser.add_argument(
        "--loglevel",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="the workers' (default info: B's log gives the steps of its recovery)",
    )
    args = parser.parse_args()
    source = simulated(max(1000, (args.events + args.extra) * 100 // 690 + 1))
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp, broker() as bootstrap:
        work = Path(tmp)
        head = work / "head.jsonl"
        extra = split_events(source, head, args.events, args.extra)
        if len(extra) < args.extra:
            raise SystemExit(f"{source} holds too few events for --events plus --extra")
        settings = fresh_settings(bootstrap, args.partitions, work / "state")
        create_and_fill(settings, head)
        port = free_port()
        config = write_config(settings, work / "worker.yaml", port)
        result = recover(settings, work, config, port, extra, args)

    steps = ", ".join(f"{name} at {s:.1f} s" for name, s in result.steps.items())
    steps = f" (it {steps})" if steps else ""
    verdict = "met" if result.caught_up_s < TARGET_S else "missed"
    first = f"{result.first_commit_s:.1f} s" if result.first_commit_s is not None else "not seen"
    record(
        "recovery after SIGKILL, one worker",
        f"kill to caught up {result.caught_up_s:.1f} s (target < {TARGET_S:.0f} s: {verdict}), "
        f"kill to the new worker's first commit {first}{steps}; state of {args.events:,} events "
        f"({result.changelog:,} changelog records); killed after {result.processed_at_kill:,} "
        f"of {len(extra):,} further events (at {args.extra_rate:,.0f} events/s), "
        f"{result.uncommitted_at_kill:,} messages uncommitted; "
        f"broker_session_timeout_s {Settings().broker_session_timeout_s}",
        packages=("faust-streaming", "aiokafka"),
    )


if __name__ == "__main__":
    main()
