"""What a source partition's owner publishes to the live topic, and how it is read back.

Two messages per events partition, each replacing the one before under its key: the recent
part (key `seg:<partition>`: who waits, the minute buckets of the last hour or so, the agents'
latest states), published a few times a second while it changes, and the day part (key
`seg:<partition>/day`: today's earlier buckets summed per quarter-hour), published only when
it changes (when the minutes horizon moves, every 15 minutes, or a late event lands there).
A reader combines the two parts of a partition that share a horizon (`horizon_us`), so no
bucket is counted twice or missed (pipeline/core/live.py, `Export`). Each carries

- `version`: the source offset the state includes; a reader never takes a lower version than
  the one it holds, so a late, replayed or stale-owner publication never moves a figure back;
- `watermark_us`: the source's event time, the merged view's clock being the largest;
- `published_ms`: the publisher's wall clock, for "updated 1 s ago" and staleness;
- `horizon_us`: where the recent part's minute buckets start and the day part's end.

msgpack through msgspec, the first field a format number: anything else on the topic (not
ours, truncated, a future format) is refused with a reason. Each group's part is encoded on
its own and embedded raw, so a publisher re-encodes only the groups that changed and a reader
re-decodes only those (an unchanged group arrives as the same bytes and is kept as the same
object, which the merge skips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from pipeline.core.agents import AgentPart
from pipeline.core.fcr import FcrPart
from pipeline.core.intervals import N_COUNTS
from pipeline.core.live import GroupPart

# 2: count vectors of COUNT_FIELDS with `abandoned_within_sl` (format 1 had one count less,
# which this reader would mis-merge).
FORMAT = 2
DAY = "/day"


class _Message(msgspec.Struct, array_like=True):
    format: int
    source: str
    version: int
    watermark_us: int
    published_ms: int
    horizon_us: int
    groups: list[msgspec.Raw]
    agents: list[AgentPart]
    fcr: list[FcrPart]


class BadPublication(ValueError):
    """A message on the live topic that is not a publication this version can read."""


def _checked(part: GroupPart) -> GroupPart:
    """A part whose count vectors another ccpipe version wrote (a count field added or
    removed) is refused, not merged: the live topic outlives an upgrade."""
    for _, counts in part.buckets:
        if len(counts) != N_COUNTS:
            raise BadPublication(
                f"counts of {len(counts)} fields, this reader reads {N_COUNTS} "
                "(written by another ccpipe version)"
            )
    return part


@dataclass(frozen=True, slots=True)
class Publication:
    source: str  # `seg:<partition>` (recent part), `seg:<partition>/day`, or `fcr:<partition>`
    version: int
    watermark_us: int
    published_ms: int
    horizon_us: int
    parts: Sequence[GroupPart]
    agents: Sequence[AgentPart] = ()
    fcr: Sequence[FcrPart] = ()

    @property
    def partition_source(self) -> str:
        """The events partition's key, for either part."""
        return self.source.removesuffix(DAY)

    @property
    def is_day(self) -> bool:
        return self.source.endswith(DAY)

    @property
    def is_fcr(self) -> bool:
        return self.source.startswith(FCR)


SEGMENTS, FCR = "seg:", "fcr:"


def source_key(partition: int) -> str:
    """The key of the recent part of a partition of the events topic."""
    return f"{SEGMENTS}{partition}"


def day_key(partition: int) -> str:
    return source_key(partition) + DAY


def fcr_key(partition: int) -> str:
    """The key of the live FCR of a partition of the customer owners' topic."""
    return f"{FCR}{partition}"


# A partition this many messages behind its log is catching up (after an outage, a restart):
# it is published only at the heartbeat. Its figures are old anyway, and each publication
# re-cuts every agent at an event time that moves minutes a second (measured: 18 % of a
# catching-up worker's CPU in the soak, docs/reliability.md). About 2.5 s at 2,000 events/s.
CATCHING_UP_LAG = 5_000


def publication_due(
    changed: bool, lag: int, last: float | None, now: float, heartbeat_s: float
) -> bool:
    """Whether a partition is published now: never published yet, or its heartbeat is due,
    or it changed and is not catching up (`lag` messages behind its log)."""
    if last is None or now - last >= heartbeat_s:
        return True
    return changed and lag < CATCHING_UP_LAG


class Publisher:
    """A stage's side of the live topic: which partitions changed since their last
    publication, the version (source offset) each partition's state includes, and the
    encoders that keep unchanged groups' bytes."""

    def __init__(self) -> None:
        self.versions: dict[int, int] = {}
        self.changed: set[int] = set()
        self._encoders: dict[str, Encoder] = {}
        self.publications = 0
        self.bytes = 0

    def includes(self, partition: int, offset: int) -> None:
        """The partition's state includes every message up to `offset`: its version (never
        lowered: a replay after a restart re-does what the state already holds)."""
        self.versions[partition] = max(self.versions.get(partition, -1), offset)

    def version(self, partition: int) -> int:
        return self.versions.get(partition, -1)

    def encode(self, publication: Publication) -> tuple[bytes, bytes]:
        """(key, value) of a publication."""
        encoder = self._encoders.get(publication.source)
        if encoder is None:
            encoder = self._encoders[publication.source] = Encoder()
        value = encoder.encode(publication)
        self.publications += 1
        self.bytes += len(value)
        return publication.source.encode(), value

    def forget(self, partition: int, *keys: str) -> None:
        self.versions.pop(partition, None)
        self.changed.discard(partition)
        for key in keys:
            self._encoders.pop(key, None)


class Encoder:
    """Publications of one source; each group's bytes are kept while its part is unchanged."""

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._raw: dict[tuple[str, str, str], tuple[GroupPart, msgspec.Raw]] = {}

    def encode(self, publication: Publication) -> bytes:
        raws = []
        held = self._raw
        fresh: dict[tuple[str, str, str], tuple[GroupPart, msgspec.Raw]] = {}
        for part in publication.parts:
            cached = held.get(part.group)
            if cached is None or cached[0] is not part:
                cached = (part, msgspec.Raw(self._encoder.encode(part)))
            fresh[part.group] = cached
            raws.append(cached[1])
        self._raw = fresh
        return self._encoder.encode(
            _Message(
                FORMAT,
                publication.source,
                publication.version,
                publication.watermark_us,
                publication.published_ms,
                publication.horizon_us,
                raws,
                list(publication.agents),
                list(publication.fcr),
            )
        )


class Decoder:
    """Publications of every source; a group whose bytes did not change since the source's
    last publication is returned as the same `GroupPart` object."""

    def __init__(self) -> None:
        self._message = msgspec.msgpack.Decoder(_Message)
        self._part = msgspec.msgpack.Decoder(GroupPart)
        self._parts: dict[str, dict[bytes, GroupPart]] = {}

    def decode(self, data: bytes | None) -> Publication:
        if not data:
            raise BadPublication("an empty message")
        # A publication is a msgpack array whose first item is its format, a small int.
        if len(data) < 2 or not 0x91 <= data[0] <= 0x9F or data[1] > 0x7F:
            raise BadPublication("not a ccpipe live publication")
        if data[1] != FORMAT:
            raise BadPublication(f"publication format {data[1]}, this reader reads {FORMAT}")
        try:
            message = self._message.decode(data)
            held = self._parts.get(message.source, {})
            parts: dict[bytes, GroupPart] = {}
            for raw in message.groups:
                blob = bytes(raw)
                part = held.get(blob)
                parts[blob] = part if part is not None else _checked(self._part.decode(blob))
        except BadPublication:
            raise
        except (msgspec.DecodeError, ValueError) as exc:
            raise BadPublication(f"a damaged publication ({exc})") from None
        self._parts[message.source] = parts
        return Publication(
            message.source,
            message.version,
            message.watermark_us,
            message.published_ms,
            message.horizon_us,
            list(parts.values()),
            message.agents,
            message.fcr,
        )
