"""`ccpipe produce` against the real broker: batches land where the contract's key maps."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner as AiokafkaPartitioner
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.cli import main
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics, pipeline_topics
from pipeline.kafka.partitioner import partition_for
from pipeline.kafka.producer import (
    BadLine,
    ProduceCounts,
    idle_ticks,
    produce_lines,
)

PARTITIONS = 4
BAD_LINES = [
    b"this is not JSON",
    b'[{"type": "contact.offered", "contact_id": "c1"}]',
    b'{"type": "agent.state", "event_id": "x", "contact_id": "c1"}',
    b'{"type": "contact.ended", "event_id": "y", "contact_id": ""}',
]


def event_lines(contacts: int = 40, agents: int = 6) -> list[bytes]:
    """Contact and agent events interleaved, with a sequence number to check order by."""
    lines = []
    seq = 0
    for step in ("contact.offered", "contact.answered", "contact.ended"):
        for c in range(contacts):
            seq += 1
            lines.append(
                orjson.dumps(
                    {
                        "event_id": f"e{seq:05d}",
                        "type": step,
                        "ts": f"2026-11-22T09:{seq // 60 % 60:02d}:{seq % 60:02d}Z",
                        "contact_id": f"contact-{c}",
                        "queue": "billing",
                        "channel": "voice",
                        "agent_id": f"agent-{c % agents}",
                        "talk_s": 30,
                    }
                )
            )
            if c % 5 == 0:
                seq += 1
                lines.append(
                    orjson.dumps(
                        {
                            "event_id": f"e{seq:05d}",
                            "type": "agent.state",
                            "ts": "2026-11-22T09:00:00Z",
                            "agent_id": f"agent-{c % agents}",
                            "state": "busy",
                        }
                    )
                )
    return lines


def key_of(event: dict[str, object]) -> bytes:
    field = "agent_id" if event["type"] == "agent.state" else "contact_id"
    return str(event[field]).encode()


@pytest.fixture
def events_topic(kafka_broker: str, kafka_settings: Settings) -> str:
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker)
    try:
        ensure_topics(admin, pipeline_topics(kafka_settings, PARTITIONS)[:1])
    finally:
        admin.close()
    return kafka_settings.events_topic


@pytest.fixture
def producer(kafka_broker: str) -> Iterator[KafkaProducer]:
    client = KafkaProducer(bootstrap_servers=kafka_broker, linger_ms=5)
    yield client
    client.close(timeout=10)


def consume_all(
    kafka_broker: str, topic: str, expected: int
) -> list[tuple[int, bytes | None, bytes]]:
    """Every message of `topic` as (partition, key, value), in offset order per partition."""
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    messages: list[tuple[int, bytes | None, bytes]] = []
    deadline = time.monotonic() + 20
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                messages.extend((tp.partition, r.key, r.value) for r in records)
    finally:
        consumer.close()
    return messages


def reference_partitions(kafka_broker: str, topic: str, keys: set[bytes]) -> dict[bytes, int]:
    """Where kafka-python's own default partitioner puts each key (no explicit partition)."""
    probe = KafkaProducer(bootstrap_servers=kafka_broker)
    try:
        futures = {key: probe.send(topic, key=key, value=b"probe") for key in sorted(keys)}
        probe.flush()
        return {key: future.get(timeout=10).partition for key, future in futures.items()}
    finally:
        probe.close()


@pytest.mark.kafka
@pytest.mark.parametrize(
    ("batch_size", "max_batch_bytes"),
    [(7, 512 * 1024), (1, 512 * 1024), (500, 1200)],
    ids=["7-per-batch", "single-events", "byte-limited"],
)
def test_batches_map_to_the_key_partition_and_keep_per_key_order(
    kafka_broker: str,
    events_topic: str,
    producer: KafkaProducer,
    topic_prefix: str,
    batch_size: int,
    max_batch_bytes: int,
) -> None:
    good = event_lines()
    lines = good[:50] + BAD_LINES[:2] + [b"", b"  "] + good[50:] + BAD_LINES[2:]
    bad_seen: list[BadLine] = []
    counts = produce_lines(
        lines,
        producer,
        events_topic,
        batch_size=batch_size,
        max_batch_bytes=max_batch_bytes,
        on_bad=bad_seen.append,
    )

    assert counts.events == len(good) and counts.bad == len(BAD_LINES)
    assert counts.lines == len(lines)
    # Line numbers are the input's, blank lines included.
    assert [b.line_no for b in bad_seen] == [51, 52, len(lines) - 1, len(lines)]
    messages = consume_all(kafka_broker, events_topic, counts.messages)
    assert len(messages) == counts.messages

    batches = [m for m in messages if m[2] not in BAD_LINES]
    alone = sorted(m[2] for m in messages if m[2] in BAD_LINES)
    assert alone == sorted(BAD_LINES)  # each bad line in a message of its own, unchanged

    keys = {key_of(orjson.loads(line)) for line in good}
    reference = reference_partitions(kafka_broker, f"{topic_prefix}.cc.events", keys)
    aiokafka = AiokafkaPartitioner()
    order: dict[bytes, list[str]] = defaultdict(list)
    for partition, key, value in batches:
        events = orjson.loads(value)
        if batch_size == 1:
            assert isinstance(events, dict)  # a plain event, as platforms send them
            events = [events]
        assert 1 <= len(events) <= batch_size
        assert len(value) <= max_batch_bytes or len(events) == 1
        assert key == key_of(events[0])
        for event in events:
            k = key_of(event)
            assert reference[k] == partition, "kafka-python would put this key elsewhere"
            assert aiokafka(k, list(range(PARTITIONS)), []) == partition
            order[k].append(str(event["event_id"]))
    for key, ids in order.items():
        wanted = [str(e["event_id"]) for e in map(orjson.loads, good) if key_of(e) == key]
        assert ids == wanted, f"events of {key!r} out of order"
    assert counts.partitions == {p for p, _, _ in batches}
    if batch_size == 7:
        # Fewer messages than events: batching happened.
        assert counts.messages - len(BAD_LINES) < len(good) / 5


@pytest.mark.kafka
def test_the_cli_reports_bad_lines_and_a_summary(
    kafka_broker: str,
    events_topic: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CCPIPE_CONFIG", raising=False)
    source = tmp_path / "events.jsonl"
    good = event_lines(10, 2)
    source.write_bytes(b"\n".join([*good, BAD_LINES[0]]) + b"\n")
    code = main(["produce", str(source), "--broker", kafka_broker, "--topic", events_topic])
    assert code == 0
    err = capsys.readouterr().err
    assert f"line {len(good) + 1}: not JSON" in err
    assert f"{len(good)} events in" in err and "1 bad lines sent alone" in err


@pytest.mark.kafka
def test_a_missing_topic_fails_with_a_hint(
    kafka_broker: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], topic_prefix: str
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(event_lines(1, 1)[0])
    args = ["produce", str(source), "--broker", kafka_broker, "--timeout", "2"]
    assert main([*args, "--topic", f"{topic_prefix}.missing"]) == 1
    assert "ccpipe topics create" in capsys.readouterr().err


def test_an_unreachable_broker_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(event_lines(1, 1)[0])
    # Port 1 on loopback: nothing listens there.
    assert main(["produce", str(source), "--broker", "127.0.0.1:1", "--timeout", "1"]) == 1
    assert "cannot reach the broker at 127.0.0.1:1" in capsys.readouterr().err


def test_partition_for_matches_kafka_python_and_aiokafka() -> None:
    from kafka.partitioner import murmur2

    aiokafka = AiokafkaPartitioner()
    for n in (1, 3, 4, 12):
        for i in range(300):
            key = f"contact-{i}".encode()
            expected = aiokafka(key, list(range(n)), [])
            assert partition_for(key, n) == expected
            assert (murmur2(key) & 0x7FFFFFFF) % n == expected


def test_a_pausing_input_releases_pending_batches() -> None:
    """From a live pipe, a pause (a None tick) sends what is pending instead of waiting."""
    read_fd, write_fd = os.pipe()
    paused = threading.Event()

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(b'{"a": 1}\n{"a": 2}\n{"a": 3')
            pipe.flush()
            paused.wait(timeout=10)
            pipe.write(b'}\n{"a": 4}')

    thread = threading.Thread(target=writer)
    thread.start()
    items = []
    with os.fdopen(read_fd, "rb") as stream:
        for item in idle_ticks(stream, idle_s=0.05):
            items.append(item)
            if item is None:
                paused.set()
    thread.join(timeout=10)
    assert items == [b'{"a": 1}', b'{"a": 2}', None, b'{"a": 3}', b'{"a": 4}']


def test_produce_counts_summary_names_partitions() -> None:
    counts = ProduceCounts(lines=5, events=4, bad=1, messages=3, partitions={2, 0})
    assert counts.summary() == "4 events in 3 messages to partitions 0,2; 1 bad lines sent alone"
