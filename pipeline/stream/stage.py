"""What a stage of the stream is: the one interface every runtime drives.

A stage consumes one source topic (a logical name of `topology`), keeps one state per source
partition it owns, rebuilt from its tables (changelog-backed key-value tables, also logical
names) when the partition is first processed after an assignment, and turns a batch of that
partition's messages into an `Output`: table writes and sends. It imports nothing of Faust or
Kafka, so the Faust runtime, the in-memory runtime of tests and the benchmarks all run the
same stages the same way:

    stage.assigned(partition, tables)          # before each batch; builds state once
    out = stage.process(partition, messages)   # messages: (value, offset), in offset order
    ... make `out` durable (writes to the tables and their changelogs, sends), then commit
    kept = stage.revoked(partition)            # a rebalance took the partition away
    stage.assigned(partition, tables, kept)    # it came back, its tables unchanged meanwhile

A runtime may hand `kept` back only if no one wrote the partition's tables since it was
revoked (every batch that changes a state writes them): the state is then the one a rebuild
from the tables would give, without reading them. Anything else is rebuilt from the tables.

Every key a stage writes to a table belongs to the partition it consumed, so a runtime writes
each table change to that partition's changelog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pipeline.liveview.publication import Publisher

Message = tuple[bytes, int]  # (value, offset)
# A partition's entries of one table, read once when the partition's state is rebuilt.
TableItems = Callable[[], Iterable[tuple[bytes, bytes]]]


@dataclass(slots=True)
class Send:
    """A message to a logical topic: to `partition`, or to the partition of `key`."""

    topic: str
    value: bytes
    key: bytes | None = None
    partition: int | None = None
    headers: list[tuple[str, bytes]] | None = None


# (table, key, value); a value of None deletes the key (a tombstone in its changelog).
Write = tuple[str, bytes, bytes | None]


@dataclass(slots=True)
class Output:
    sends: list[Send] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)


class Publishing(Protocol):
    """A stage that also publishes the live state of its partitions to the live topic
    (docs/live.md): when, and at which version, its `publisher` keeps track."""

    @property
    def publisher(self) -> Publisher: ...

    @property
    def source(self) -> str:
        """The role of the topic its partitions are of (`topology.Topology.topics`)."""
        ...

    def owned(self) -> Iterable[int]:
        """The partitions it holds state of."""
        ...

    def publications(self, partition: int, published_ms: int) -> list[tuple[bytes, bytes]]:
        """(key, value) messages of the partition's live state, each replacing the last."""
        ...


class Stage(Protocol):
    """One step of the stream (see the module's docstring for the calling order)."""

    @property
    def name(self) -> str:
        """The stage's name (the agent's, under Faust)."""
        ...

    @property
    def source(self) -> str:
        """The logical topic it consumes."""
        ...

    @property
    def tables(self) -> tuple[str, ...]:
        """The logical tables whose entries rebuild a partition's state."""
        ...

    def assigned(
        self, partition: int, tables: Mapping[str, TableItems], kept: object | None = None
    ) -> None:
        """Hold the partition's state from now on: `kept` (what `revoked` gave) if given,
        else rebuilt from `tables`; nothing if it is held already."""
        ...

    def process(self, partition: int, messages: list[Message]) -> Output: ...

    def revoked(self, partition: int) -> object | None:
        """Stop holding the partition; its state, for `assigned` to take back (None if it
        held none)."""
        ...
