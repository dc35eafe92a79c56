"""Single-event input, one run, one topic: ingest against the worker and two peers.

    python -m bench.ingest_throughput [--events 200000] [--partitions 4]

The simulated events are written once, one per message (keyed by the contract key), to a
fresh topic on the real broker of deploy/kafka. Then, each reading that same topic from its
start, one after the other:

1. ingest alone: `ccpipe ingest` to a fresh events topic; rate over the span from its first
   commit to its last (group join outside the clock) and events per CPU second of the
   process (the goal: 200k single events/s on one core);
2. ingest + worker end to end: a warm `ccpipe worker` behind a warm `ccpipe ingest`; the
   same single-event messages (same bytes, keys and partitions) sent at once to ingest's
   input, clock until ingest has committed them and the worker its topics to their ends
   (sending included, as bench.worker_throughput includes it for the batched worker);
3. the worker on batches: the same events as 500-event messages on a fresh topic, a warm
   worker (the goal: end to end at least 80 % of this);
4. the worker fed the single-event topic directly;
5. the naive Faust app (bench/naive_app.py) on the single-event topic, for 30 s;
6. Quix Streams (bench/quix_peer.py, in a throwaway virtual environment under /tmp, so it
   never becomes a dependency) on the single-event topic.

The machine is shared and its two cores busy: the ratios of one run are the result.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import psutil
from kafka.errors import KafkaError

from bench.events import simulated
from bench.kafka_env import (
    PORT,
    broker,
    create_and_fill,
    fresh_settings,
    group_lag,
    prepared,
    send_prepared,
    write_config,
)
from bench.record import record
from bench.worker_throughput import naive_app_rate
from bench.workers import cpu_seconds, free_port, start_ingest, start_worker, stop
from pipeline.config import Settings
from pipeline.kafka.group_lag import GroupLag, Offsets, uncommitted

QUIX_VENV = Path("/tmp/quixvenv")
QUIX_VERSION = "3.28.1"
POLL_S = 0.1


def _single(settings: Settings, events: Path) -> int:
    """The events file as single-event messages on `settings.events_topic`."""
    return create_and_fill(settings, events, batch=1)


def _caught_up(offsets: GroupLag) -> Callable[[], bool]:
    """Whether the group has committed the end of every partition of its topics; False while
    one of them does not exist yet (the worker creates its internal topics as it starts).
    Reading the ends takes a fresh consumer (group_lag.py), too costly for every polling
    step on two shared cores: the ends only grow, so they are read again only once the
    commits have reached the last ones read."""
    ends: Offsets = {}

    def check() -> bool:
        try:
            committed = offsets.committed()
            if ends and any(uncommitted(committed, ends).values()):
                return False
            latest = offsets.ends()
        except KafkaError:
            return False
        if latest is None:
            return False
        ends.clear()
        ends.update(latest)
        found = {topic for topic, _ in latest}
        return found == set(offsets.topics) and not any(uncommitted(committed, latest).values())

    return check


def _committed(offsets: GroupLag, topic: str) -> int:
    return sum(v for (t, _), v in offsets.committed().items() if t == topic and v > 0)


def _ingest(settings: Settings, input_topic: str, work: Path, name: str) -> tuple[Path, Settings]:
    ingest = msgspec.structs.replace(
        settings,
        ingest_topic=input_topic,
        ingest_group=f"{settings.app_id}-{name}",
        ingest_state_topic=f"{settings.app_id}-{name}-state",
    )
    config = work / f"{name}.yaml"
    lines = [
        f"{key}: {getattr(ingest, key)}"
        for key in ("broker", "partitions", "events_topic", "dlq_topic", "intervals_topic",
                    "segments_topic", "ingest_topic", "ingest_group", "ingest_state_topic")
    ]  # fmt: skip
    config.write_text("\n".join([*lines, "ingest_metrics_port: 0"]) + "\n")
    return config, ingest


def _ingest_group_offsets(settings: Settings) -> GroupLag:
    return GroupLag({"bootstrap_servers": settings.broker}, settings.ingest_group,
                    [settings.ingest_topic])  # fmt: skip


def _span(
    done: Callable[[], bool], progress: Callable[[], int], deadline_s: float = 900
) -> tuple[float, int, float]:
    """Poll until done(); returns (first progress time, progress then, end time)."""
    start = time.monotonic()
    first_t, first_n = 0.0, 0
    while time.monotonic() - start < deadline_s:
        n = progress()
        if n > 0 and not first_t:
            first_t, first_n = time.monotonic(), n
        if done():
            return first_t, first_n, time.monotonic()
        time.sleep(POLL_S)  # polling step of a wait with a deadline
    raise TimeoutError("not caught up")


def ingest_alone(settings: Settings, topic: str, total: int, work: Path) -> tuple[float, float]:
    """Events/s from ingest's first commit to its last, and events per CPU second of the
    process over the same span (start-up, imports and group join left out)."""
    config, ingest = _ingest(settings, topic, work, "alone")
    process = start_ingest(config, work / "ingest-alone.log")
    offsets = _ingest_group_offsets(ingest)
    try:
        _span(lambda: _committed(offsets, topic) > 0, lambda: 0)
        first_n, first_t, cpu0 = _committed(offsets, topic), time.monotonic(), cpu_seconds(process)
        _span(lambda: _committed(offsets, topic) >= total, lambda: 1)
        took, cpu = time.monotonic() - first_t, cpu_seconds(process) - cpu0
    finally:
        offsets.close()
        stop(process)
    return (total - first_n) / took, (total - first_n) / cpu


def end_to_end(settings: Settings, events: Path, total: int, work: Path) -> float:
    """A warm worker behind a warm ingest (both joined, a first event through); then the
    single-event messages, byte for byte those of the shared topic (same keys, partitions),
    are sent at once to ingest's input; the clock stops when ingest has committed them all
    and the worker's group the end of its events topic and both internal topics."""
    out = fresh_settings(settings.broker, settings.partitions, work / "e2e-state")
    create_and_fill(out, _first(work))
    worker = start_worker(write_config(out, work / "e2e-worker.yaml", free_port()),
                          work / "e2e-worker.log")  # fmt: skip
    worker_offsets = group_lag(out)
    topic = f"{out.app_id}.input"
    config, ingest = _ingest(out, topic, work, "e2e")
    worker_done = _caught_up(worker_offsets)
    try:
        _span(worker_done, lambda: 0)  # the worker has joined and committed its one event
        process = start_ingest(config, work / "ingest-e2e.log")
        ingest_offsets = _ingest_group_offsets(ingest)
        try:
            warm = prepared(_first(work), settings.partitions, batch=1)
            _span(lambda: _topic_exists(settings.broker, topic), lambda: 0)
            send_prepared(settings.broker, topic, warm)
            _span(lambda: _committed(ingest_offsets, topic) >= 1 and worker_done(), lambda: 0)
            ready = prepared(events, settings.partitions, batch=1)
            start = time.monotonic()
            send_prepared(settings.broker, topic, ready)
            _span(lambda: _committed(ingest_offsets, topic) >= total + 1 and worker_done(),
                  lambda: 1)  # fmt: skip
            took = time.monotonic() - start
        finally:
            ingest_offsets.close()
            stop(process)
    finally:
        worker_offsets.close()
        stop(worker)
    return total / took


def _topic_exists(bootstrap: str, topic: str) -> bool:
    """Ingest creates its input topic at start; sending before would fail."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return topic in consumer.topics()
    finally:
        consumer.close()


def worker_on(settings: Settings, events: Path | None, topic: str | None, total: int,
              work: Path, name: str) -> tuple[float, float]:  # fmt: skip
    """A warm worker: on the batched file (events) or, from the start, on a single topic."""
    ours = fresh_settings(settings.broker, settings.partitions, work / f"{name}-state")
    if topic is not None:
        ours = msgspec.structs.replace(ours, events_topic=topic)
        unused = msgspec.structs.replace(ours, events_topic=f"{ours.app_id}.unused")
        create_and_fill(unused, _first(work))
    else:
        create_and_fill(ours, _first(work))
    worker = start_worker(write_config(ours, work / f"{name}.yaml", free_port()),
                          work / f"{name}.log")  # fmt: skip
    offsets = group_lag(ours)
    try:
        if events is not None:
            _span(_caught_up(offsets), lambda: 0)
            ready = prepared(events, settings.partitions)
            cpu0 = cpu_seconds(worker)
            start = time.monotonic()
            send_prepared(settings.broker, ours.events_topic, ready)
            _span(_caught_up(offsets), lambda: 1)
            return total / (time.monotonic() - start), total / (cpu_seconds(worker) - cpu0)
        first_t, first_n, end_t = _span(
            _caught_up(offsets), lambda: _committed(offsets, ours.events_topic)
        )
        return (total - first_n) / (end_t - first_t), total / cpu_seconds(worker)
    finally:
        offsets.close()
        stop(worker)


def naive(settings: Settings, topic: str, work: Path, seconds: float) -> float:
    ours = msgspec.structs.replace(settings, events_topic=topic, app_id=f"{settings.app_id}-naive")
    return naive_app_rate(write_config(ours, work / "naive.yaml", free_port()), work, seconds)


def quix(bootstrap: str, topic: str, total: int, work: Path) -> float | None:
    python = QUIX_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(QUIX_VENV)], check=True)
        installed = subprocess.run(
            [str(QUIX_VENV / "bin" / "pip"), "install", "--quiet", f"quixstreams=={QUIX_VERSION}"],
            check=False,
        )
        if installed.returncode != 0:
            return None
    result = work / "quix.result"
    script = Path(__file__).resolve().parent / "quix_peer.py"
    process = subprocess.Popen(
        [str(python), str(script), bootstrap, topic, str(total), str(result)],
        stdout=(work / "quix.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        process.wait(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if not result.exists():
        return None
    count, took = result.read_text().strip().split(",")
    return int(count) / float(took)


@contextlib.contextmanager
def _broker() -> Iterator[str]:
    """A broker that already answers on the port (another checkout's) is used as it is."""
    bootstrap = f"127.0.0.1:{PORT}"
    probe = Path(__file__).resolve().parent.parent / "deploy" / "kafka" / "probe.py"
    answers = subprocess.run(
        [sys.executable, str(probe), bootstrap, "--timeout", "2"], capture_output=True
    )
    if answers.returncode == 0:
        yield bootstrap
        return
    with broker() as started:
        yield started


def _first(work: Path) -> Path:
    one = work / "one.jsonl"
    if not one.exists():
        with simulated(1000).open("rb") as handle:
            one.write_bytes(handle.readline())
    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--naive-seconds", type=float, default=30.0)
    args = parser.parse_args()
    events_file = simulated(max(1000, args.events * 100 // 700))
    total = sum(1 for _ in events_file.open("rb"))
    with tempfile.TemporaryDirectory() as tmp, _broker() as bootstrap:
        work = Path(tmp)
        base = fresh_settings(bootstrap, args.partitions, work / "state")
        single = f"{base.app_id}.single"
        _single(msgspec.structs.replace(base, events_topic=single), events_file)
        print(f"{total:,} single-event messages on {single}", flush=True)
        alone, alone_cpu = ingest_alone(base, single, total, work)
        print(f"ingest alone {alone:,.0f}/s, {alone_cpu:,.0f}/CPU s", flush=True)
        e2e = end_to_end(base, events_file, total, work)
        print(f"ingest + worker {e2e:,.0f}/s", flush=True)
        batched, batched_cpu = worker_on(base, events_file, None, total, work, "batched")
        print(f"worker on batches {batched:,.0f}/s", flush=True)
        direct, direct_cpu = worker_on(base, None, single, total, work, "direct")
        print(f"worker on single events {direct:,.0f}/s", flush=True)
        naive_rate = naive(base, single, work, args.naive_seconds)
        print(f"naive Faust {naive_rate:,.0f}/s", flush=True)
        quix_rate = quix(bootstrap, single, total, work)
        print(f"Quix Streams {quix_rate or 0:,.0f}/s", flush=True)
    machine_busy = psutil.getloadavg()[0]
    quix_text = f"{quix_rate:,.0f}" if quix_rate else "not run (install failed)"
    record(
        "ingest, single-event input, one run",
        f"{total:,} single-event messages, 4 partitions; ingest alone {alone:,.0f} events/s "
        f"({alone_cpu:,.0f} per CPU second); ingest + worker end to end {e2e:,.0f} events/s; "
        f"worker on 500-event batches {batched:,.0f} events/s ({batched_cpu:,.0f} per CPU s); "
        f"worker on the single events {direct:,.0f} events/s ({direct_cpu:,.0f} per CPU s); "
        f"naive Faust {naive_rate:,.0f} events/s; Quix Streams {quix_text} events/s. Ratios: "
        f"end to end / batched worker {e2e / batched:.2f}, end to end / worker on single "
        f"events {e2e / direct:.1f}x, ingest alone / goal 200k {alone_cpu / 200_000:.2f} "
        f"(per CPU s); load average at the end {machine_busy:.1f}",
        packages=("aiokafka", "faust-streaming", "msgspec"),
    )


if __name__ == "__main__":
    main()
