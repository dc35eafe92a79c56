"""Publishing JSONL events to cc.events as the contract's batches.

The stream processor pays per Kafka message, not per event, so ccpipe's own producers send a
JSON array of events per message. Every event of one message maps to the same partition under
Kafka's default partitioner (murmur2 of the contract key), so the events are grouped by that
partition here and each batch is sent explicitly to it; since a key always maps to one
partition and its batches leave in input order over an idempotent producer, per-key order is
kept.

Lines that are not a JSON object, or have no usable key, are not dropped: each is sent alone,
as it came, so that the worker dead-letters it with its reason; they are counted and reported.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

import orjson

from pipeline.kafka.partitioner import partition_for

AGENT_EVENT = "agent.state"
# Below the broker's default max.message.bytes (1 MiB) with room for the record overhead.
DEFAULT_MAX_BATCH_BYTES = 512 * 1024
DEFAULT_BATCH_SIZE = 500


class MessageSender(Protocol):
    """What produce_lines needs of a producer; kafka-python's KafkaProducer is one."""

    def send(
        self, topic: str, value: bytes | None = ..., key: bytes | None = ...,
        headers: Any = ..., partition: int | None = ..., timestamp_ms: int | None = ...,
    ) -> Any: ...  # fmt: skip

    def partitions_for(self, topic: str) -> set[int]: ...

    def flush(self, timeout: float | None = ...) -> None: ...


class ProduceError(RuntimeError):
    """The broker refused or lost a message; nothing after it is sent."""


@dataclass
class BadLine:
    line_no: int
    reason: str


@dataclass
class ProduceCounts:
    lines: int = 0  # lines read, blank ones included, so numbers match the file
    events: int = 0  # lines sent inside batches
    bad: int = 0  # lines sent alone because they are not a keyed JSON object
    messages: int = 0
    partitions: set[int] = field(default_factory=set)

    def summary(self) -> str:
        used = ",".join(str(p) for p in sorted(self.partitions)) or "none"
        return (
            f"{self.events} events in {self.messages} messages to partitions {used}; "
            f"{self.bad} bad lines sent alone"
        )


def event_key(event: dict[str, Any]) -> str | None:
    """The contract's key: agent_id for agent events, contact_id for contact and survey events."""
    value = event.get("agent_id" if event.get("type") == AGENT_EVENT else "contact_id")
    return value if isinstance(value, str) and value else None


def classify(line: bytes) -> tuple[bytes | None, str | None]:
    """(key, None) for a batchable event line, (None, reason) for one to send alone."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON ({exc})"
    if not isinstance(event, dict):
        return None, f"not a JSON object (a JSON {type(event).__name__})"
    key = event_key(event)
    if key is None:
        field_name = "agent_id" if event.get("type") == AGENT_EVENT else "contact_id"
        return None, f"no usable key: `{field_name}` missing or not a non-empty string"
    return key.encode("utf-8"), None


class _Batches:
    """Pending events per partition; a partition's batch leaves when it is full."""

    def __init__(
        self,
        producer: MessageSender,
        topic: str,
        counts: ProduceCounts,
        batch_size: int,
        max_batch_bytes: int,
        on_sent: Callable[[ProduceCounts], None] | None,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.counts = counts
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.on_sent = on_sent
        self.pending: dict[int, tuple[bytes, list[bytes]]] = {}
        self.pending_bytes: dict[int, int] = {}
        self.error: BaseException | None = None

    def add(self, partition: int, key: bytes, line: bytes) -> None:
        size = self.pending_bytes.get(partition, 0)
        if partition in self.pending and size + len(line) + 1 > self.max_batch_bytes:
            self.send_partition(partition)
        if partition not in self.pending:
            self.pending[partition] = (key, [])
            self.pending_bytes[partition] = 2
        self.pending[partition][1].append(line)
        self.pending_bytes[partition] += len(line) + 1
        if len(self.pending[partition][1]) >= self.batch_size:
            self.send_partition(partition)

    def send_partition(self, partition: int) -> None:
        key, lines = self.pending.pop(partition)
        del self.pending_bytes[partition]
        # Lines are valid JSON objects, so joining them makes a valid JSON array as-is.
        value = lines[0] if self.batch_size == 1 else b"[" + b",".join(lines) + b"]"
        self.send(value, key, partition)
        self.counts.events += len(lines)
        self.counts.partitions.add(partition)

    def send_all(self) -> None:
        for partition in sorted(self.pending):
            self.send_partition(partition)

    def send(self, value: bytes, key: bytes | None, partition: int | None) -> None:
        self.raise_if_failed()
        future = self.producer.send(self.topic, value=value, key=key, partition=partition)
        if hasattr(future, "add_errback"):
            future.add_errback(self._failed)
        self.counts.messages += 1
        if self.on_sent is not None:
            self.on_sent(self.counts)

    def _failed(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise ProduceError(f"the broker did not take a message: {self.error}") from self.error


def produce_lines(
    lines: Iterable[bytes | str | None],
    producer: MessageSender,
    topic: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    on_bad: Callable[[BadLine], None] | None = None,
    on_sent: Callable[[ProduceCounts], None] | None = None,
    flush_timeout_s: float = 60.0,
) -> ProduceCounts:
    """Send JSONL `lines` to `topic` as per-partition batches; flush; return the counts.

    A None item in `lines` means "the input is idle": pending batches are sent at once, so a
    slow live stream is not held back waiting for a batch to fill (see `idle_ticks`).
    Raises ProduceError when the broker fails a message.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    partitions = sorted(producer.partitions_for(topic))
    counts = ProduceCounts()
    batches = _Batches(producer, topic, counts, batch_size, max_batch_bytes, on_sent)
    for raw in lines:
        if raw is None:
            batches.send_all()
            continue
        counts.lines += 1
        line = (raw.encode("utf-8") if isinstance(raw, str) else raw).strip()
        if not line:
            continue
        key, reason = classify(line)
        if key is None:
            counts.bad += 1
            if on_bad is not None:
                on_bad(BadLine(counts.lines, reason or "bad line"))
            batches.send(line, None, None)
            continue
        partition = partitions[partition_for(key, len(partitions))]
        batches.add(partition, key, line)
    batches.send_all()
    producer.flush(timeout=flush_timeout_s)
    batches.raise_if_failed()
    return counts


def idle_ticks(stream: BinaryIO, idle_s: float = 0.5) -> Iterator[bytes | None]:
    """The lines of `stream`, with a None whenever no input came for `idle_s` seconds.

    A reader thread moves raw chunks (not lines, to keep the per-event cost near zero) from
    the stream to a queue; the caller's side splits them into lines.
    """
    chunks: queue.Queue[bytes] = queue.Queue(maxsize=64)
    fd = stream.fileno()

    def read() -> None:
        while True:
            chunk = os.read(fd, 1 << 20)
            chunks.put(chunk)
            if not chunk:
                return

    threading.Thread(target=read, name="ccpipe-stdin", daemon=True).start()
    tail = b""
    ticked = False
    while True:
        try:
            chunk = chunks.get(timeout=idle_s)
        except queue.Empty:
            if not ticked:  # one tick per idle spell is enough to send what is pending
                ticked = True
                yield None
            continue
        ticked = False
        if not chunk:
            break
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        yield from parts
    if tail:
        yield tail
