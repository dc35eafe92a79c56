"""The converters' pairing state, durable per input partition, in a compacted topic.

A platform converter pairs records (a transfer and the contact it became, a call and the
wrap-up after it), so what it holds must survive a crash and follow its input partition to
whichever ingest process owns it next. Each checkpoint writes, per input partition, the
converter's `state()` with the input offset it corresponds to (the first record it has not
seen), keyed by input topic and partition, to the state partition of the same number; only
after Kafka has acknowledged it are the input offsets committed. On assignment the latest
checkpoint of the partition is read back and consumption starts at its offset, whatever the
group's committed offset says: state and position always travel together, so a crash at any
point, or a stale owner's late write, replays records against the state they followed.

The value is zlib-compressed JSON: states are repetitive text and compress about tenfold.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import orjson

# Above the broker's default 1 MiB: a converter may hold up to 200,000 pairings (compressed,
# about 20 bytes each). The state topic is created with this limit (topics.py).
MAX_STATE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Checkpoint:
    offset: int  # the first input record the state has not seen
    state: dict[str, Any]


def state_key(topic: str, partition: int) -> bytes:
    return f"{topic}:{partition}".encode()


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    payload = orjson.dumps({"offset": checkpoint.offset, "state": checkpoint.state})
    return zlib.compress(payload, 1)


def decode_checkpoint(value: bytes) -> Checkpoint:
    data = orjson.loads(zlib.decompress(value))
    return Checkpoint(int(data["offset"]), dict(data["state"]))


class StateTopic:
    """Reads and writes checkpoints; `consumer` is an aiokafka consumer with no group."""

    def __init__(self, consumer: Any, producer: Any, topic: str, partitions: int) -> None:
        self.consumer = consumer
        self.producer = producer
        self.topic = topic
        self.partitions = partitions

    def partition_of(self, input_partition: int) -> int:
        return input_partition % self.partitions

    async def load(self, input_topic: str, input_partition: int) -> Checkpoint | None:
        """The partition's latest checkpoint, None if it has none."""
        from aiokafka import TopicPartition

        tp = TopicPartition(self.topic, self.partition_of(input_partition))
        key = state_key(input_topic, input_partition)
        self.consumer.assign([tp])
        await self.consumer.seek_to_beginning(tp)
        end = (await self.consumer.end_offsets([tp]))[tp]
        latest: bytes | None = None
        while await self.consumer.position(tp) < end:
            batches = await self.consumer.getmany(tp, timeout_ms=1000)
            for record in batches.get(tp, ()):
                if record.key == key and record.offset < end:
                    latest = record.value
        return None if latest is None else decode_checkpoint(latest)

    async def save(self, input_topic: str, input_partition: int, checkpoint: Checkpoint) -> Any:
        """Send the checkpoint; returns the delivery future to await before committing."""
        return await self.producer.send(
            self.topic,
            value=encode_checkpoint(checkpoint),
            key=state_key(input_topic, input_partition),
            partition=self.partition_of(input_partition),
        )
