"""Scaling: 1, 2 and 4 `ccpipe worker` processes in one consumer group over 8 partitions.

    python -m bench.scaling [--events 300000] [--workers 1,2,4] [--partitions 8]

For each number of workers N, on fresh topics of the real Kafka broker of deploy/kafka:

1. Create the topics (each worker also creates its internal ones before it joins), start N
   workers, each with its own config, web port and state directory, in one group.
2. Wait until the group is stable with N members that between them own every partition of
   the events topic and of both internal topics, then produce a few hundred warm-up events
   and wait until the group has committed them: group join, table recovery and first
   writes stay outside the clock.
3. Clock: produce the events (batches of up to 500 per message, as `ccpipe produce` does)
   and stop when the group has committed the end of the events topic and of both internal
   topics. Over that span, read the CPU seconds of each worker, of the Kafka broker (the
   java process running kafka.Kafka, which is only read, never stopped), and of this
   process: producing the events, then polling the group (one admin client, 4 polls/s).

One row in docs/benchmarks.md holds every N, so the speed-ups are ratios taken in one run.
Per N it gives events/s, the speed-up over the first N, CPU seconds per worker and in all,
the broker's CPU seconds, and how many of the machine's cores the run used (workers +
broker + producer), next to how busy the whole machine was (other work included).

Read it with the machine in mind: N processes can go at most as fast as the cores let
them. On a 2-core machine with the broker on the same cores, 4 workers cannot go beyond
about 2x one worker, and the broker's share of the cores is taken from the workers. Rows
before 2026-12-04 ran with Faust tables, whose standby copy on another worker (one by
default) read and applied each changelog too; the row says how many workers held each
changelog partition. The worker has no Faust tables now, so no standby copies.

The broker is the one on port 19092 (CCPIPE_BENCH_KAFKA_PORT), started here if none runs.
Its CPU includes whatever else uses it: when others share that broker, a private one on
another port (CCPIPE_BENCH_KAFKA_PORT=39092) keeps their load out of the broker's figure.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
import psutil

from bench.events import simulated
from bench.kafka_env import (
    PORT,
    broker,
    create_and_fill,
    fresh_settings,
    write_config,
)
from bench.record import record
from bench.workers import cpu_seconds, free_port, start_worker
from pipeline.config import Settings
from pipeline.kafka.group_lag import GroupLag
from pipeline.kafka.retriable import retrying

# Lines of the events file produced before the clock starts. They come back in the measured
# run as duplicates (about 0.1% of the default run), which keeps the data the simulation's
# own instead of mixing in a second one.
WARMUP_LINES = 300
SETTLE_DEADLINE_S = 180.0
CATCH_UP_DEADLINE_S = 900.0


@dataclasses.dataclass(frozen=True)
class Clocks:
    """CPU seconds so far of the workers, the broker, this process and the whole machine."""

    at: float
    workers: tuple[float, ...]
    broker: float
    bench: float
    machine: float


@dataclasses.dataclass(frozen=True)
class Run:
    """What one N measured over the clocked span."""

    workers: int
    events: int
    seconds: float
    worker_cpu: tuple[float, ...]
    broker_cpu: float
    producer_cpu: float
    polling_cpu: float
    machine_busy_cpu: float
    internal_messages: int
    table_copies: float
    rebalanced: bool

    @classmethod
    def between(
        cls,
        before: Clocks,
        produced: Clocks,
        after: Clocks,
        events: int,
        internal_messages: int,
        table_copies: float,
        rebalanced: bool,
    ) -> Run:
        return cls(
            workers=len(before.workers),
            events=events,
            seconds=after.at - before.at,
            worker_cpu=tuple(b - a for a, b in zip(before.workers, after.workers, strict=True)),
            broker_cpu=after.broker - before.broker,
            producer_cpu=produced.bench - before.bench,
            polling_cpu=after.bench - produced.bench,
            machine_busy_cpu=after.machine - before.machine,
            internal_messages=internal_messages,
            table_copies=table_copies,
            rebalanced=rebalanced,
        )

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def ours_cpu(self) -> float:
        """Workers, broker, producer and polling: everything this benchmark ran."""
        return sum(self.worker_cpu) + self.broker_cpu + self.producer_cpu + self.polling_cpu

    def cores_used(self) -> float:
        return self.ours_cpu / self.seconds

    def machine_cores_busy(self) -> float:
        return self.machine_busy_cpu / self.seconds


def parse_workers(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in text.split(",") if part.strip())
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError(f"expected worker counts like 1,2,4, got {text!r}")
    return counts


def describe(run: Run, baseline: Run, cores: int) -> str:
    workers = sum(run.worker_cpu)
    per_worker = "/".join(f"{c:.1f}" for c in run.worker_cpu)
    text = (
        f"{run.workers} worker{'s' if run.workers > 1 else ''}: {run.rate:,.0f} events/s "
        f"({run.seconds:.1f} s, {run.rate / baseline.rate:.2f}x), "
        f"worker CPU s {per_worker} (total {workers:.1f}, {workers / run.events * 1e6:.0f} µs "
        f"an event, {run.internal_messages:,} internal-topic messages, each table partition "
        f"held by {run.table_copies:.0f}), "
        f"broker {run.broker_cpu:.1f} CPU s, "
        f"producer {run.producer_cpu:.1f} + polling {run.polling_cpu:.1f} CPU s; "
        f"used {run.cores_used():.2f} of {cores} cores "
        f"(machine busy {run.machine_cores_busy():.2f})"
    )
    return text + (", the group's assignment changed during the run" if run.rebalanced else "")


def summary(runs: Sequence[Run], partitions: int, cores: int) -> str:
    baseline = runs[0]
    parts = [describe(run, baseline, cores) for run in runs]
    shares = [run.broker_cpu / run.ours_cpu for run in runs if run.ours_cpu > 0]
    broker = (
        f"the broker took {min(shares):.0%}-{max(shares):.0%} of the CPU the runs used"
        if shares
        else "the broker's CPU could not be read"
    )
    context = (
        f" ({baseline.events:,} events, {partitions} partitions; speed-up vs "
        f"{baseline.workers} worker{'s' if baseline.workers > 1 else ''}). With {cores} cores "
        f"shared by workers, broker and producer, more than {cores} workers cannot scale "
        f"beyond ~{cores}x; {broker}"
    )
    return "; ".join(parts) + context


# Edges: processes, CPU clocks and the group as the broker sees it.


def kafka_broker(port: int) -> psutil.Process | None:
    """The broker's JVM: the java process running kafka.Kafka with this port's properties
    (deploy/kafka names them <port>.properties), or the only kafka.Kafka process if none
    names it."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = p.info.get("cmdline") or []
        if "kafka.Kafka" in cmdline:
            found.append((p, cmdline))
    for p, cmdline in found:
        if any(arg.endswith(f"/{port}.properties") for arg in cmdline):
            return p
    return found[0][0] if len(found) == 1 else None


def machine_busy() -> float:
    """CPU seconds all cores spent not idle, since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


Assignment = frozenset[tuple[str, frozenset[tuple[str, int]]]]


class GroupWatch(GroupLag):
    """The group as the broker sees it: offsets, and who owns what."""

    def __init__(self, settings: Settings) -> None:
        from pipeline.stream.topology import source_topic_names

        super().__init__(
            {"bootstrap_servers": settings.broker}, settings.app_id, source_topic_names(settings)
        )
        self.sources = self.topics
        self.partitions = settings.partitions

    def assignment(self, workers: int) -> Assignment | None:
        """Each member's partitions of the source topics, once the group is stable with
        `workers` members that each own events partitions and together own every partition
        of the events topic and of both internal topics; None until then.

        DescribeGroups has no generation id and members keep their ids across rebalances, so
        a changed assignment is what shows that a rebalance moved work."""
        from kafka.errors import KafkaError

        try:
            info = self.admin.describe_groups([self.group])[self.group]
        except KafkaError:
            return None  # no coordinator yet: the group has not formed
        members = info.get("members", [])
        if info.get("group_state") != "Stable" or len(members) != workers:
            return None
        owned: dict[str, frozenset[tuple[str, int]]] = {}
        for member in members:
            assigned = (member.get("member_assignment") or {}).get("assigned_partitions", [])
            owned[member["member_id"]] = frozenset(
                (a["topic"], p)
                for a in assigned
                if a["topic"] in self.sources
                for p in a["partitions"]
            )
        events = self.sources[0]
        every = frozenset((t, p) for t in self.sources for p in range(self.partitions))
        if frozenset[tuple[str, int]]().union(*owned.values()) != every or not all(
            any(t == events for t, _ in tps) for tps in owned.values()
        ):
            return None
        return frozenset(owned.items())

    def table_copies(self) -> float:
        """How many members hold each table changelog partition, as the group's assignment
        says (Faust's standby replicas, when the worker had Faust tables)."""
        info = retrying(lambda: self.admin.describe_groups([self.group]))[self.group]
        held = [
            (a["topic"], p)
            for member in info.get("members", [])
            for a in (member.get("member_assignment") or {}).get("assigned_partitions", [])
            if a["topic"].endswith("-changelog")
            for p in a["partitions"]
        ]
        return len(held) / len(set(held)) if held else math.nan

    def internal_messages(self) -> int:
        """Messages in both internal topics so far: one per batch a stage sent onwards."""
        ends = self.ends()
        if ends is None:
            raise TimeoutError("the ends of the source topics could not be read")
        return sum(end for (topic, _), end in ends.items() if topic != self.sources[0])


def wait_settled(watch: GroupWatch, workers: Sequence[subprocess.Popen[bytes]]) -> Assignment:
    start = time.monotonic()
    while time.monotonic() - start < SETTLE_DEADLINE_S:
        _check_alive(workers)
        assignment = watch.assignment(len(workers))
        if assignment is not None:
            return assignment
        time.sleep(0.5)  # polling step of a wait with a deadline
    raise TimeoutError(
        f"group {watch.group} not stable with {len(workers)} members owning every partition "
        f"of {', '.join(watch.sources)} in {SETTLE_DEADLINE_S:.0f} s"
    )


def wait_caught_up(
    watch: GroupWatch, workers: Sequence[subprocess.Popen[bytes]], deadline_s: float
) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        _check_alive(workers)
        if watch.caught_up():
            return
        time.sleep(0.25)  # polling step of a wait with a deadline
    raise TimeoutError(f"group {watch.group} not caught up in {deadline_s:.0f} s")


def stop_all(workers: Sequence[subprocess.Popen[bytes]], timeout_s: float = 30.0) -> None:
    """SIGTERM every worker first, so that the last ones do not rebalance once per stop."""
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for w in workers:
        try:
            w.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()


def _check_alive(workers: Sequence[subprocess.Popen[bytes]]) -> None:
    for n, w in enumerate(workers):
        if w.poll() is not None:
            raise RuntimeError(f"worker {n} exited with {w.returncode} before the run ended")


def read_clocks(workers: Sequence[psutil.Process], kafka: psutil.Process | None) -> Clocks:
    return Clocks(
        at=time.monotonic(),
        workers=tuple(cpu_seconds(w) for w in workers),
        broker=cpu_seconds(kafka) if kafka is not None else math.nan,
        bench=cpu_seconds(psutil.Process()),
        machine=machine_busy(),
    )


def start_group(
    settings: Settings, n: int, root: Path, watch: GroupWatch
) -> list[subprocess.Popen[bytes]]:
    """N workers with their own config, web port and state directory, in one stable group."""
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(n):
            own = msgspec.structs.replace(settings, state_dir=str(root / f"state-{i}"))
            config = write_config(own, root / f"worker-{i}.yaml", free_port())
            workers.append(start_worker(config, root / f"worker-{i}.log"))
        wait_settled(watch, workers)
    except BaseException:
        _print_logs(root, len(workers))
        stop_all(workers)
        raise
    return workers


def measure(
    bootstrap: str, n: int, partitions: int, events: Path, events_n: int, warmup: Path, work: Path
) -> Run:
    root = work / f"n{n}"
    root.mkdir()
    settings = fresh_settings(bootstrap, partitions, root / "state")
    create_and_fill(settings, warmup)
    with contextlib.closing(GroupWatch(settings)) as watch:
        workers = start_group(settings, n, root, watch)
        return _clocked(settings, workers, watch, events, events_n, root)


def _clocked(
    settings: Settings,
    workers: Sequence[subprocess.Popen[bytes]],
    watch: GroupWatch,
    events: Path,
    events_n: int,
    root: Path,
) -> Run:
    """Warm up the running group, then the clocked span; stops the workers in any case."""
    try:
        wait_caught_up(watch, workers, SETTLE_DEADLINE_S)
        # The warm-up commits can come from a group that rebalanced once more after the
        # first stable look; ask again so the clock starts on the final assignment.
        assignment = wait_settled(watch, workers)
        procs = [psutil.Process(w.pid) for w in workers]
        kafka = kafka_broker(PORT)
        internal_before = watch.internal_messages()
        before = read_clocks(procs, kafka)
        create_and_fill(settings, events)
        produced = read_clocks(procs, kafka)
        wait_caught_up(watch, workers, CATCH_UP_DEADLINE_S)
        after = read_clocks(procs, kafka)
        internal = watch.internal_messages() - internal_before
        rebalanced = watch.assignment(len(workers)) != assignment
        copies = watch.table_copies()
    except BaseException:
        _print_logs(root, len(workers))
        raise
    finally:
        stop_all(workers)
    return Run.between(before, produced, after, events_n, internal, copies, rebalanced)


def _print_logs(root: Path, workers: int) -> None:
    for i in range(workers):
        tail = (root / f"worker-{i}.log").read_text(errors="replace")[-2000:]
        print(f"--- worker {i} log (tail)\n{tail}", file=sys.stderr)


def _head(source: Path, lines: int, target: Path) -> Path:
    with source.open("rb") as handle, target.open("wb") as out:
        for _, line in zip(range(lines), handle, strict=False):
            out.write(line)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=300_000, help="about this many events (default 300000)"
    )
    parser.add_argument(
        "--workers",
        type=parse_workers,
        default=(1, 2, 4),
        help="worker counts, comma-separated; speed-ups are against the first (default 1,2,4)",
    )
    parser.add_argument(
        "--partitions", type=int, default=8, help="partitions of every topic (default 8)"
    )
    args = parser.parse_args()
    if max(args.workers) > args.partitions:
        parser.error("every worker needs a partition: at most --partitions workers")
    events = simulated(max(1000, args.events * 100 // 700))
    events_n = sum(1 for _ in events.open("rb"))
    cores = os.cpu_count() or 1
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp, broker() as bootstrap:
        work = Path(tmp)
        warmup = _head(events, WARMUP_LINES, work / "warmup.jsonl")
        if kafka_broker(PORT) is None:
            print("no kafka.Kafka process found: broker CPU will read nan", file=sys.stderr)
        for n in args.workers:
            run = measure(bootstrap, n, args.partitions, events, events_n, warmup, work)
            print(describe(run, runs[0] if runs else run, cores), flush=True)
            runs.append(run)
    record(
        f"worker scaling, {'/'.join(map(str, args.workers))} processes, "
        f"{args.partitions} partitions",
        summary(runs, args.partitions, cores),
        packages=("faust-streaming", "aiokafka", "kafka-python"),
    )


if __name__ == "__main__":
    main()
