"""Small builders for contract events in tests (dicts, encoded with orjson)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import orjson

from pipeline.config import Settings, load_settings
from pipeline.report import report_from_lines

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
_ids = count()


def at(seconds: float) -> str:
    """RFC 3339 UTC, `seconds` after 2026-11-22T09:00:00Z, to the microsecond."""
    moment = T0 + timedelta(microseconds=round(seconds * 1_000_000))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ev(kind: str, seconds: float, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"event_id": f"e{next(_ids)}", "type": kind, "ts": at(seconds)}
    event.update(fields)
    return event


def offered(
    s: float, contact: str, queue: str = "q", channel: str = "voice", **kw: Any
) -> dict[str, Any]:
    return ev("contact.offered", s, contact_id=contact, queue=queue, channel=channel, **kw)


def answered(s: float, contact: str, queue: str = "q", agent: str = "a1") -> dict[str, Any]:
    return ev("contact.answered", s, contact_id=contact, queue=queue, agent_id=agent)


def abandoned(s: float, contact: str, queue: str = "q") -> dict[str, Any]:
    return ev("contact.abandoned", s, contact_id=contact, queue=queue)


def ended(
    s: float, contact: str, talk: float, hold: float | None = None, queue: str = "q"
) -> dict[str, Any]:
    extra = {} if hold is None else {"hold_s": hold}
    return ev(
        "contact.ended", s, contact_id=contact, queue=queue, agent_id="a1", talk_s=talk, **extra
    )


def wrapup(
    s: float, contact: str, acw: float, resolved: bool | None = None, queue: str = "q"
) -> dict[str, Any]:
    extra = {} if resolved is None else {"resolved": resolved}
    return ev(
        "contact.wrapup_ended",
        s,
        contact_id=contact,
        queue=queue,
        agent_id="a1",
        acw_s=acw,
        **extra,
    )


def lines(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(e) for e in events]


def report(events: list[dict[str, Any]], settings: Settings | None = None) -> list[dict[str, Any]]:
    return report_from_lines(lines(events), settings or load_settings(env={}))


def only_row(events: list[dict[str, Any]], settings: Settings | None = None) -> dict[str, Any]:
    rows = report(events, settings)
    assert len(rows) == 1, rows
    return rows[0]
