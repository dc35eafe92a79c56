"""Allowed lateness in the stream (docs/stream.md, "Retention"): intervals close, their
contacts are forgotten (and deleted from the table), later events for them are dead-lettered,
and a restart does not publish a closed interval again from the part of it still held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import orjson

from pipeline.config import load_settings
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.report import report_from_lines
from pipeline.stream import stages, topology
from tests.stream.harness import LocalPipeline

# A day of allowed lateness, so a few days of events show intervals closing.
SETTINGS = msgspec.structs.replace(load_settings(env={}), allowed_lateness_s=86400.0)
T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _event(kind: str, contact: str, at: timedelta, queue: str = "sales", **fields: object) -> bytes:
    ts = (T0 + at).isoformat().replace("+00:00", "Z")
    body = {"event_id": f"{contact}-{queue}-{kind}", "type": kind, "ts": ts}
    return orjson.dumps(
        {**body, "tenant": "default", "contact_id": contact, "queue": queue, **fields}
    )


def _offer(contact: str, at: timedelta, queue: str = "sales") -> list[bytes]:
    return [
        _event("contact.offered", contact, at, queue, channel="voice", customer_id=f"u-{contact}"),
        _event("contact.answered", contact, at + timedelta(seconds=12), queue, agent_id="a1"),
    ]


def _expected(lines: list[bytes]) -> list[dict[str, object]]:
    return [{f: r[f] for f in REPORT_FIELDS} for r in report_from_lines(lines, SETTINGS)]


def _row(pipeline: LocalPipeline, queue: str, start: datetime) -> dict[str, object]:
    stamp = start.isoformat().replace("+00:00", "Z")
    [row] = [r for r in pipeline.rows() if r["queue"] == queue and r["interval_start"] == stamp]
    return row


def test_a_closed_interval_stays_final_through_late_events_and_a_restart() -> None:
    day, minute = timedelta(days=1), timedelta(minutes=1)
    # c1 and c3's sales segment share the 07:00 interval of day 0; c3 comes back to support
    # on day 3, which keeps c3 (and its closed sales segment) held.
    counted = (
        _offer("c1", 2 * minute)
        + _offer("c3", 5 * minute)
        + _offer("c2", 3 * day)
        + _offer("c3", 3 * day + minute, queue="support")
    )
    late = _event("contact.ended", "c1", 4 * minute, agent_id="a1", talk_s=60)
    pipeline = LocalPipeline(SETTINGS, partitions=1)
    pipeline.produce([*counted, late])
    pipeline.run()

    # On day 3 the watermark closes every interval before day 2's 07:00: c1's late end is
    # dead-lettered, as it came, and counts nowhere.
    assert pipeline.rows() == _expected(counted)
    [(raw, headers)] = pipeline.dlq
    assert raw == late
    assert headers["reason"].startswith(b"too late")
    assert headers["source"] == f"{SETTINGS.events_topic}:0:{len(counted)}".encode()
    assert pipeline.segment_stage.counters.dead_letter_reasons == {"too_late": 1}
    # c1 is forgotten and deleted from the table; c3 is still held for its open segment.
    assert set(pipeline.tables[stages.CONTACTS]) == {b"c2", b"c3"}
    assert _row(pipeline, "sales", T0)["offered"] == 2

    # A restart rebuilds c3 with only its own half of the closed 07:00 interval; that part
    # must not be published over the final row when c3 changes again.
    pipeline.topology = topology.build(pipeline.settings)
    more = [_event("contact.ended", "c3", 3 * day + 5 * minute, "support", agent_id="a1", talk_s=9)]
    pipeline.produce(more)
    pipeline.run()
    assert pipeline.rows() == _expected(counted + more)
    assert _row(pipeline, "sales", T0)["offered"] == 2
    assert _row(pipeline, "support", T0 + 3 * day)["handled"] == 1


def test_a_segment_never_offered_is_forgotten_and_counted() -> None:
    day = timedelta(days=1)
    orphan = _event("contact.answered", "c9", timedelta(0), agent_id="a1")
    pipeline = LocalPipeline(SETTINGS, partitions=1)
    pipeline.produce([orphan])
    pipeline.run()
    # Its time is the watermark when it was first held: the batch's, here the orphan's own.
    pipeline.produce(_offer("c2", 3 * day))
    pipeline.run()
    [state] = pipeline.segment_stage.parts.values()
    assert state.counters.expired == 1
    assert set(pipeline.tables[stages.CONTACTS]) == {b"c2"}
