"""One worker end to end against two baselines on the same topic, in the same run.

    python -m bench.worker_throughput [--events 1000000] [--partitions 4] [--naive-seconds 45]

1. `ccpipe simulate` makes the events; `ccpipe produce` writes them to a fresh topic on the
   real Kafka broker of deploy/kafka, as batches of up to 500 events per message.
2. Ceiling: a plain aiokafka `getmany` + JSON decode loop over the whole topic.
3. Ours: `ccpipe worker` (one process) from start until its group has committed the end of
   the events topic and of both internal topics: the last interval row is written.
4. Naive: a Faust agent computing the same KPIs one event at a time with a table update per
   event (bench/naive_app.py), run for a fixed time: its rate is events over that time.

The broker shares the machine's two cores with whatever runs; the ratios are the result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.events import simulated
from bench.kafka_env import (
    broker,
    create_and_fill,
    end_offsets,
    fresh_settings,
    prepared,
    send_prepared,
    wait_caught_up,
    write_config,
)
from bench.record import record
from bench.workers import cpu_seconds, free_port, start_worker, stop
from pipeline.stream.topology import source_topic_names


async def ceiling(bootstrap: str, topic: str) -> tuple[int, float]:
    from aiokafka import AIOKafkaConsumer

    ends = end_offsets(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    events = 0
    remaining = {p for p, end in ends.items() if end > 0}
    start = time.perf_counter()
    try:
        while remaining:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, messages in batches.items():
                for message in messages:
                    decoded = orjson.loads(message.value)
                    events += len(decoded) if isinstance(decoded, list) else 1
                if messages and messages[-1].offset + 1 >= ends[tp.partition]:
                    remaining.discard(tp.partition)
    finally:
        await consumer.stop()
    return events, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--naive-seconds", type=float, default=45.0)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="SVG",
        help="also record a py-spy flame graph of the worker over the measured span",
    )
    args = parser.parse_args()
    events_file = simulated(max(1000, args.events * 100 // 700))
    n = sum(1 for _ in events_file.open("rb"))
    with tempfile.TemporaryDirectory() as tmp, broker() as bootstrap:
        work = Path(tmp)
        settings = fresh_settings(bootstrap, args.partitions, work / "state")
        messages = create_and_fill(settings, events_file)
        print(f"produced {n:,} events in {messages:,} messages", flush=True)

        ceiling_events, ceiling_s = asyncio.run(ceiling(bootstrap, settings.events_topic))
        ceiling_rate = ceiling_events / ceiling_s

        # Ours, warm: the worker starts on a fresh copy of the topic holding one event, so its
        # start-up (group join, table recovery) is done before the clock starts; then the
        # events, keyed and batched beforehand, are sent at once, and the clock stops when
        # all three of its topics are committed to their end.
        ours = fresh_settings(bootstrap, args.partitions, work / "state")
        create_and_fill(ours, _first_line(events_file, work / "one.jsonl"))
        messages_ready = prepared(events_file, args.partitions)
        config = write_config(ours, work / "ours.yaml", free_port())
        launched = time.monotonic()
        worker = start_worker(config, work / "worker.log")
        spy: subprocess.Popen[bytes] | None = None
        try:
            wait_caught_up(bootstrap, ours.app_id, ours.events_topic, 300)
            startup_s = time.monotonic() - launched
            cpu_before = cpu_seconds(worker)
            spy = _profile(worker.pid, args.profile) if args.profile else None
            start = time.monotonic()
            send_prepared(bootstrap, ours.events_topic, messages_ready)
            sent_s = time.monotonic() - start
            wait_caught_up(bootstrap, ours.app_id, ours.events_topic, 1800)
            for topic in source_topic_names(ours)[1:]:
                wait_caught_up(bootstrap, ours.app_id, topic, 600)
            ours_s = time.monotonic() - start
            ours_cpu = cpu_seconds(worker) - cpu_before
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes the flame graph on SIGINT
                spy.wait(timeout=60)
            stop(worker)
        ours_rate = n / ours_s

        naive_config = write_config(settings, work / "naive.yaml", free_port())
        naive_rate = naive_app_rate(naive_config, work, args.naive_seconds)

    record(
        "worker end to end, one process, every KPI",
        f"{ours_rate:,.0f} events/s ({n:,} events in {ours_s:.1f} s, {ours_cpu:.1f} CPU s, "
        f"after a start-up of {startup_s:.1f} s; sending took {sent_s:.2f} s of it); "
        f"ceiling {ceiling_rate:,.0f} events/s; naive Faust {naive_rate:,.0f} events/s; "
        f"ours/ceiling {ours_rate / ceiling_rate:.2f}, ours/naive {ours_rate / naive_rate:.1f}x",
        packages=("faust-streaming", "aiokafka", "msgspec"),
    )


def _profile(pid: int, svg: Path) -> subprocess.Popen[bytes]:
    svg.parent.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "250", "--output", str(svg), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _first_line(source: Path, target: Path) -> Path:
    with source.open("rb") as handle:
        target.write_bytes(handle.readline())
    return target


def naive_app_rate(config: Path, work: Path, seconds: float) -> float:
    """Events/s of bench/naive_app.py over `seconds` once it has processed its first."""
    progress = work / "naive.progress"
    naive = subprocess.Popen(
        [sys.executable, "-m", "bench.naive_app", str(config), str(progress)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    try:
        first = _wait_progress(progress, 120)
        time.sleep(seconds)  # the measured span itself, not a synchronisation
        last = _read_progress(progress)
    finally:
        stop(naive)
    return (last[0] - first[0]) / max(last[1] - first[1], 1e-9)


def _read_progress(path: Path) -> tuple[int, float]:
    count, at = path.read_text().strip().split(",")
    return int(count), float(at)


def _wait_progress(path: Path, deadline_s: float) -> tuple[int, float]:
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if path.exists() and path.read_text().strip():
            return _read_progress(path)
        time.sleep(0.2)  # polling step of a wait with a deadline
    raise TimeoutError("the naive app processed nothing")


if __name__ == "__main__":
    main()
