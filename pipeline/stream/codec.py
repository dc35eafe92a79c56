"""Compact encodings of the stream's state and internal messages (msgpack, via msgspec).

Tables hold these bytes (their changelog is the durable copy); the stages hold the decoded
Python objects. External topics (`cc.kpi.intervals`, `cc.segments`) carry JSON instead, for
anyone to read.
"""

from __future__ import annotations

from typing import Any

import msgspec

from pipeline.core.agents import BUCKET_US
from pipeline.core.events import Abandoned, AgentState, Answered
from pipeline.core.fcr import FcrFact
from pipeline.core.intervals import IntervalKey
from pipeline.core.kpi_state import FcrRemoval, FcrUpdate
from pipeline.core.segments import (
    EndPart,
    OfferPart,
    Segment,
    SegmentId,
    TransferPart,
    WrapupPart,
)


class SegmentRecord(msgspec.Struct, array_like=True):
    tenant: str
    contact_id: str
    queue: str
    offered: OfferPart | None
    outcome: Answered | Abandoned | None
    transferred: TransferPart | None
    ended: EndPart | None
    wrapup: WrapupPart | None
    surveys: tuple[int, int, int, int, int]
    anomalies: int
    event_ids: tuple[str, ...]
    fcr_customers: tuple[str, ...]


_msgpack = msgspec.msgpack.Encoder()
_segments_decoder = msgspec.msgpack.Decoder(list[SegmentRecord])
_agent_decoder = msgspec.msgpack.Decoder(list[AgentState])


def encode_segments(segments: list[Segment]) -> bytes:
    """All segments of one contact (its queues and tenants): one table value."""
    return _msgpack.encode(
        [
            SegmentRecord(
                s.sid.tenant,
                s.sid.contact_id,
                s.sid.queue,
                s.offered,
                s.outcome,
                s.transferred,
                s.ended,
                s.wrapup,
                (s.csat_responses, s.csat_good, s.nps_responses, s.nps_promoters, s.nps_detractors),
                s.anomalies,
                s.event_ids,
                s.fcr_customers,
            )
            for s in segments
        ]
    )


def decode_segments(data: bytes) -> list[Segment]:
    out = []
    for r in _segments_decoder.decode(data):
        segment = Segment(SegmentId(r.tenant, r.contact_id, r.queue))
        segment.offered = r.offered
        segment.outcome = r.outcome
        segment.transferred = r.transferred
        segment.ended = r.ended
        segment.wrapup = r.wrapup
        (
            segment.csat_responses,
            segment.csat_good,
            segment.nps_responses,
            segment.nps_promoters,
            segment.nps_detractors,
        ) = r.surveys
        segment.anomalies = r.anomalies
        segment.event_ids = r.event_ids
        segment.fcr_customers = r.fcr_customers
        out.append(segment)
    return out


def agent_bucket_start(ts_us: int) -> int:
    return ts_us - ts_us % BUCKET_US


def agent_bucket_key(agent_id: str, tenant: str, start_us: int) -> bytes:
    """The agents table's key of one agent's changes in one hour: a msgpack array (agent,
    tenant, the hour's start), whose first byte (0x93) starts no UTF-8 text, so it is told
    from the format before it, keyed by the agent id alone (`is_agent_bucket_key`)."""
    return _msgpack.encode((agent_id, tenant, start_us))


def is_agent_bucket_key(key: bytes) -> bool:
    return key[:1] == b"\x93"


def encode_agent(states: list[AgentState]) -> bytes:
    """Agent changes: an hour's of one agent and tenant; in the format before the hours, all
    the changes an agent id kept."""
    return _msgpack.encode(states)


def decode_agent(data: bytes) -> list[AgentState]:
    return _agent_decoder.decode(data)


# --- FCR updates: segment owners -> customer owners -------------------------------------


def _fact_to_list(update: FcrUpdate) -> list[Any]:
    if isinstance(update, FcrRemoval):
        return [0, list(update.sid), update.customer_id]
    return [
        1,
        list(update.sid),
        update.customer_id,
        update.offered_us,
        update.handled,
        update.resolved_flag,
        update.window_us,
        list(update.interval),
    ]


def _fact_from_list(item: list[Any]) -> FcrUpdate:
    if item[0] == 0:
        return FcrRemoval(SegmentId(*item[1]), item[2])
    return FcrFact(
        SegmentId(*item[1]),
        item[2],
        item[3],
        item[4],
        item[5],
        item[6],
        IntervalKey(*item[7]),
    )


class FcrMessage(msgspec.Struct, array_like=True):
    """One batch for one customer-owner partition, with the sender's watermark."""

    source: str
    watermark_us: int
    updates: list[list[Any]]


_fcr_message_decoder = msgspec.msgpack.Decoder(FcrMessage)


def encode_fcr_message(source: str, watermark_us: int, updates: list[FcrUpdate]) -> bytes:
    return _msgpack.encode(FcrMessage(source, watermark_us, [_fact_to_list(u) for u in updates]))


def decode_fcr_message(data: bytes) -> tuple[str, int, list[FcrUpdate]]:
    message = _fcr_message_decoder.decode(data)
    return message.source, message.watermark_us, [_fact_from_list(u) for u in message.updates]


_facts_decoder = msgspec.msgpack.Decoder(list[list[Any]])


def encode_facts(facts: list[FcrFact]) -> bytes:
    """One customer's facts: a table value."""
    return _msgpack.encode([_fact_to_list(f) for f in facts])


def decode_facts(data: bytes) -> list[FcrFact]:
    facts = []
    for item in _facts_decoder.decode(data):
        fact = _fact_from_list(item)
        assert isinstance(fact, FcrFact)
        facts.append(fact)
    return facts


# --- Interval partial states: any owner -> the interval's owner -------------------------


class PartialMessage(msgspec.Struct, array_like=True):
    """Partial states of some intervals from one source, at that source's offset."""

    source: str
    version: int
    partials: list[tuple[tuple[str, str, str, int], list[int]]]


_partial_decoder = msgspec.msgpack.Decoder(PartialMessage)


def encode_partials(
    source: str, version: int, partials: list[tuple[IntervalKey, list[int]]]
) -> bytes:
    return _msgpack.encode(
        PartialMessage(source, version, [(tuple(k), c) for k, c in partials])  # type: ignore[misc]
    )


def decode_partials(data: bytes) -> PartialMessage:
    return _partial_decoder.decode(data)


_held_decoder = msgspec.msgpack.Decoder(dict[str, tuple[int, list[int]]])


def encode_held(held: dict[str, tuple[int, list[int]]]) -> bytes:
    """An interval owner's latest partial per source, with its version: a table value."""
    return _msgpack.encode(held)


def decode_held(data: bytes) -> dict[str, tuple[int, list[int]]]:
    return _held_decoder.decode(data)


def interval_key_text(key: IntervalKey) -> str:
    """The interval's key on topics and in tables: a JSON array, unambiguous for any name."""
    return msgspec.json.encode([key.tenant, key.queue, key.channel, key.interval_start_us]).decode()
