"""A broker, topics and a produced topic for the stream benchmarks."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from pipeline.config import Settings, load_settings
from pipeline.kafka.group_lag import GroupLag, high_watermarks, uncommitted

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("CCPIPE_BENCH_KAFKA_PORT", "19092"))


@contextmanager
def broker() -> Iterator[str]:
    """The broker of deploy/kafka on PORT: started if none runs, stopped only if we started it."""
    env = {**os.environ, "KAFKA_PORT": str(PORT)}
    script = str(ROOT / "deploy" / "kafka" / "kafka.sh")
    running = subprocess.run([script, "status"], env=env, capture_output=True).returncode == 0
    if not running:
        subprocess.run([script, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"127.0.0.1:{PORT}"
    finally:
        if not running:
            subprocess.run([script, "stop"], env=env, check=False, stdout=subprocess.DEVNULL)


def fresh_settings(bootstrap: str, partitions: int, state_dir: Path) -> Settings:
    prefix = f"b{uuid.uuid4().hex[:8]}"
    return msgspec.structs.replace(
        load_settings(env={}),
        broker=bootstrap,
        partitions=partitions,
        events_topic=f"{prefix}.cc.events",
        dlq_topic=f"{prefix}.cc.events.dlq",
        intervals_topic=f"{prefix}.cc.kpi.intervals",
        segments_topic=f"{prefix}.cc.segments",
        live_topic=f"{prefix}.cc.live",
        app_id=f"{prefix}-app",
        state_dir=str(state_dir),
    )


def write_config(settings: Settings, path: Path, web_port: int) -> Path:
    fields = (
        "broker",
        "partitions",
        "events_topic",
        "dlq_topic",
        "intervals_topic",
        "segments_topic",
        "live_topic",
        "app_id",
        "state_dir",
    )
    lines = [f"{name}: {getattr(settings, name)}" for name in fields]
    lines.append(f"web_port: {web_port}")
    if settings.worker_instance_id:
        lines.append(f"worker_instance_id: {settings.worker_instance_id}")
    path.write_text("\n".join(lines) + "\n")
    return path


def create_and_fill(settings: Settings, events: Path, batch: int = 500) -> int:
    """Create the topics and produce the file; returns the number of messages produced."""
    from kafka import KafkaAdminClient, KafkaProducer

    from pipeline.kafka.admin import ensure_topics, pipeline_topics
    from pipeline.kafka.producer import produce_lines

    admin = KafkaAdminClient(bootstrap_servers=settings.broker)
    try:
        ensure_topics(admin, pipeline_topics(settings))
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=settings.broker, linger_ms=20, acks="all")
    with events.open("rb") as handle:
        counts = produce_lines(handle, producer, settings.events_topic, batch_size=batch)
    producer.flush()
    producer.close()
    return counts.messages


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The end of each partition of the topic."""
    ends = high_watermarks({"bootstrap_servers": bootstrap}, [topic])
    if ends is None:
        raise TimeoutError(f"the ends of {topic} could not be read")
    return {partition: end for (_, partition), end in ends.items()}


def group_lag(settings: Settings) -> GroupLag:
    """The worker group's progress on its source topics (the events topic and both internal
    topics), over one admin client kept open: polling with fresh clients every step costs
    the 2 cores a measurable share."""
    from pipeline.stream.topology import source_topic_names

    return GroupLag(
        {"bootstrap_servers": settings.broker}, settings.app_id, source_topic_names(settings)
    )


def wait_caught_up(
    bootstrap: str, group: str, topic: str, deadline_s: float
) -> tuple[float | None, float]:
    """Seconds until the group first committed anything on the topic, and until its
    committed offsets reached the topic's end (read once: the topic is complete by now)."""
    with GroupLag({"bootstrap_servers": bootstrap}, group, [topic]) as watch:
        ends = watch.ends()
        if ends is None:
            raise TimeoutError(f"the ends of {topic} could not be read")
        start = time.monotonic()
        first: float | None = None
        while time.monotonic() - start < deadline_s:
            committed = watch.committed()
            if first is None and any(committed.values()):
                first = time.monotonic() - start
            if not any(uncommitted(committed, ends).values()):
                return first, time.monotonic() - start
            time.sleep(0.1)  # polling step of a wait with a deadline
    raise TimeoutError(f"group {group} not caught up on {topic} in {deadline_s} s")


class _Recorder:
    """A MessageSender that keeps what `produce_lines` would send, to send it later at once."""

    def __init__(self, partitions: int) -> None:
        self.messages: Prepared = []
        self._partitions = partitions

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
             headers: object = None, partition: int | None = None,
             timestamp_ms: int | None = None) -> None:  # fmt: skip
        assert value is not None
        self.messages.append((key, value, partition))

    def partitions_for(self, topic: str) -> set[int]:
        return set(range(self._partitions))

    def flush(self, timeout: float | None = None) -> None:
        pass


Prepared = list[tuple[bytes | None, bytes, int | None]]  # (key, value, partition)


def prepared(events: Path, partitions: int, batch: int = 500) -> Prepared:
    """The messages `ccpipe produce` would send for `events`, built ahead of the clock:
    keying and batching cost the producer seconds that are no part of the worker's time."""
    from pipeline.kafka.producer import produce_lines

    recorder = _Recorder(partitions)
    with events.open("rb") as handle:
        produce_lines(handle, recorder, "prepared", batch_size=batch)
    return recorder.messages


def send_prepared(bootstrap: str, topic: str, messages: Prepared) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    try:
        for key, value, partition in messages:
            producer.send(topic, value=value, key=key, partition=partition)
        producer.flush()
    finally:
        producer.close()
