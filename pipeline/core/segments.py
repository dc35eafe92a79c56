"""Segments: one contact in one queue, built from its events in any arrival order.

Each part of a segment (its offer, its outcome, its transfer, its end, its wrap-up) is the
earliest event of that kind by (`ts`, `event_id`), so the result never depends on the order
events arrive in. Later events of a kind already held are anomalies: counted, not applied.
Survey responses all count (duplicates were removed by event id before they get here).
"""

from __future__ import annotations

from sys import intern
from typing import Any, NamedTuple

import msgspec

from pipeline.core.clock import interval_start_us
from pipeline.core.events import (
    Abandoned,
    Answered,
    ContactEvent,
    Ended,
    Offered,
    Survey,
    Transferred,
    WrapupEnded,
)
from pipeline.core.intervals import NO_WAIT, IntervalKey
from pipeline.core.thresholds import QueueConfig


class SegmentId(NamedTuple):
    tenant: str
    contact_id: str
    queue: str


# The parts a segment keeps of its winning offer, transfer, end and wrap-up: only what is
# read later. A decoded event holds its own copy of every string (its ts text; its contact,
# queue and tenant, which the segment id already holds) and float durations next to their
# integer microseconds, and a segment lives as long as the state does: over simulated events
# the parts hold ~500 bytes a segment less than the events did. Names with few values are
# interned. The outcome is kept as its event (its type says answered or abandoned), with
# its copies swapped for the segment id's strings.
#
# Encoded as maps with the event's own field names, so a part also decodes from a changelog
# written when segments held whole events (the fields a part lacks are ignored).
class OfferPart(msgspec.Struct, gc=False):
    event_id: str
    ts_us: int = msgspec.field(name="$ts_us")
    channel: str
    customer_id: str | None = None
    reason: str | None = None


class TransferPart(msgspec.Struct, gc=False):
    event_id: str
    ts_us: int = msgspec.field(name="$ts_us")
    to_queue: str
    agent_id: str | None = None


class EndPart(msgspec.Struct, gc=False):
    event_id: str
    ts_us: int = msgspec.field(name="$ts_us")
    agent_id: str
    talk_us: int = msgspec.field(name="$talk_us")
    hold_us: int = msgspec.field(name="$hold_us")


class WrapupPart(msgspec.Struct, gc=False):
    event_id: str
    ts_us: int = msgspec.field(name="$ts_us")
    agent_id: str
    acw_us: int = msgspec.field(name="$acw_us")
    resolved: bool | None = None
    disposition: str | None = None


Part = OfferPart | Answered | Abandoned | TransferPart | EndPart | WrapupPart
_OUTCOMES = (Answered, Abandoned)


def _interned(name: str | None) -> str | None:
    return None if name is None else intern(name)


class Segment:
    """The current state of one segment: the winning part of each kind, and survey counts."""

    __slots__ = (
        "anomalies",
        "csat_good",
        "csat_responses",
        "ended",
        "event_ids",
        "fcr_customers",
        "nps_detractors",
        "nps_promoters",
        "nps_responses",
        "offered",
        "outcome",
        "sid",
        "transferred",
        "wrapup",
    )

    def __init__(self, sid: SegmentId) -> None:
        self.sid = sid
        self.offered: OfferPart | None = None
        self.outcome: Answered | Abandoned | None = None
        self.transferred: TransferPart | None = None
        self.ended: EndPart | None = None
        self.wrapup: WrapupPart | None = None
        self.csat_responses = 0
        self.csat_good = 0
        self.nps_responses = 0
        self.nps_promoters = 0
        self.nps_detractors = 0
        self.anomalies = 0
        # Every customer whose FCR tracker was told of this segment: a changed offer withdraws
        # it from the others, again on every touch, in case a withdrawal was lost in a crash.
        # A tuple: most segments name one customer or none (the empty tuple is shared).
        self.fcr_customers: tuple[str, ...] = ()
        # The ids of the events applied: duplicates are recognised here, from state that is
        # recovered with the segment. A tuple, since a segment holds a handful of events
        # (a list's spare room costs more than copying a few pointers per event).
        self.event_ids: tuple[str, ...] = ()

    @property
    def version(self) -> int:
        """Distinct events applied: grows with every change, so the largest is the latest."""
        return len(self.event_ids)

    def apply(self, event: ContactEvent) -> bool:
        """Apply one event of this segment; False if it is a duplicate (same event_id)."""
        event_id = event.event_id
        event_ids = self.event_ids
        if event_id in event_ids:
            return False
        self.event_ids = (*event_ids, event_id)
        if isinstance(event, Offered):
            if self._wins(event, self.offered):
                self.offered = OfferPart(
                    event_id,
                    event.ts_us,
                    event.channel,
                    event.customer_id,
                    _interned(event.reason),
                )
        elif isinstance(event, _OUTCOMES):
            if self._wins(event, self.outcome):
                # Kept whole: its copies of the segment id's strings are swapped for the id's.
                event.tenant, event.contact_id, event.queue = self.sid
                if isinstance(event, Answered):
                    event.agent_id = intern(event.agent_id)
                self.outcome = event
        elif isinstance(event, Ended):
            if self._wins(event, self.ended):
                self.ended = EndPart(
                    event_id, event.ts_us, intern(event.agent_id), event.talk_us, event.hold_us
                )
        elif isinstance(event, WrapupEnded):
            if self._wins(event, self.wrapup):
                self.wrapup = WrapupPart(
                    event_id,
                    event.ts_us,
                    intern(event.agent_id),
                    event.acw_us,
                    event.resolved,
                    _interned(event.disposition),
                )
        elif isinstance(event, Transferred):
            if self._wins(event, self.transferred):
                self.transferred = TransferPart(
                    event_id, event.ts_us, intern(event.to_queue), _interned(event.agent_id)
                )
        elif isinstance(event, Survey):
            if event.csat is not None:
                self.csat_responses += 1
                self.csat_good += event.csat >= 4
            if event.nps is not None:
                self.nps_responses += 1
                self.nps_promoters += event.nps >= 9
                self.nps_detractors += event.nps <= 6
        return True

    def _wins(self, event: ContactEvent, held: Part | None) -> bool:
        """Does `event` replace the part held? The earliest ts wins; equal ts, the smaller
        event_id. Any second event of a kind is an anomaly, whichever wins."""
        if held is None:
            return True
        self.anomalies += 1
        return (event.ts_us, event.event_id) < (held.ts_us, held.event_id)

    @property
    def wait_us(self) -> int | None:
        """Offer to outcome; an outcome stamped before its offer (clock skew) waits 0."""
        if self.offered is None or self.outcome is None:
            return None
        return max(0, self.outcome.ts_us - self.offered.ts_us)

    def interval_key(self) -> IntervalKey | None:
        offered = self.offered
        if offered is None:
            return None
        return IntervalKey(
            self.sid.tenant, self.sid.queue, offered.channel, interval_start_us(offered.ts_us)
        )

    def contribution(self, config: QueueConfig) -> tuple[int, ...]:
        """This segment's counts in its interval (FCR counts come from the FCR tracker).

        A tuple in `COUNT_FIELDS` order (a test checks it field by field): an interval store
        keeps one per segment, and a tuple is smaller than a list and quicker to build.
        """
        answered = abandoned = short_abandoned = within_sl = wait_sum = abandon_wait = 0
        abandoned_within = 0
        max_wait = NO_WAIT
        outcome = self.outcome
        if outcome is not None:
            wait = self.wait_us
            assert wait is not None
            max_wait = wait
            if isinstance(outcome, Answered):
                answered = 1
                wait_sum = wait
                within_sl = wait <= config.sl_threshold_us
            else:
                abandon_wait = wait
                abandoned_within = wait <= config.sl_threshold_us
                if wait >= config.short_abandon_us:
                    abandoned = 1
                else:
                    short_abandoned = 1
        handled = handle_sum = 0
        ended = self.ended
        if ended is not None:
            handled = 1
            acw = self.wrapup.acw_us if self.wrapup is not None else 0
            handle_sum = ended.talk_us + ended.hold_us + acw
        return (
            1,
            answered,
            abandoned,
            short_abandoned,
            within_sl,
            wait_sum,
            max_wait,
            handled,
            handle_sum,
            int(self.transferred is not None),
            0,
            0,
            0,
            self.csat_responses,
            self.csat_good,
            self.nps_responses,
            self.nps_promoters,
            self.nps_detractors,
            abandon_wait,
            abandoned_within,
        )

    def resolved_flag(self) -> bool:
        """False only when the wrap-up said `resolved: false`."""
        return not (self.wrapup is not None and self.wrapup.resolved is False)

    def row(self, config: QueueConfig) -> dict[str, Any]:
        """The segment as a store row (see docs/storage.md): times and durations in us."""
        offered, outcome, ended, wrapup, transferred = (
            self.offered,
            self.outcome,
            self.ended,
            self.wrapup,
            self.transferred,
        )
        assert offered is not None
        key = self.interval_key()
        assert key is not None
        return {
            "tenant": self.sid.tenant,
            "contact_id": self.sid.contact_id,
            "queue": self.sid.queue,
            "channel": offered.channel,
            "interval_start": key.interval_start_us,
            "offered_ts": offered.ts_us,
            "customer_id": offered.customer_id,
            "reason": offered.reason,
            "outcome": None
            if outcome is None
            else ("answered" if isinstance(outcome, Answered) else "abandoned"),
            "outcome_ts": None if outcome is None else outcome.ts_us,
            "wait_us": self.wait_us,
            "answer_agent_id": outcome.agent_id if isinstance(outcome, Answered) else None,
            "transferred": int(transferred is not None),
            "to_queue": None if transferred is None else transferred.to_queue,
            "transferred_ts": None if transferred is None else transferred.ts_us,
            "ended_ts": None if ended is None else ended.ts_us,
            "talk_us": None if ended is None else ended.talk_us,
            "hold_us": None if ended is None else ended.hold_us,
            "end_agent_id": None if ended is None else ended.agent_id,
            "wrapup_ts": None if wrapup is None else wrapup.ts_us,
            "acw_us": None if wrapup is None else wrapup.acw_us,
            "resolved": None if wrapup is None or wrapup.resolved is None else int(wrapup.resolved),
            "disposition": None if wrapup is None else wrapup.disposition,
            "csat_responses": self.csat_responses,
            "csat_good": self.csat_good,
            "nps_responses": self.nps_responses,
            "nps_promoters": self.nps_promoters,
            "nps_detractors": self.nps_detractors,
            "sl_threshold_us": config.sl_threshold_us,
            "short_abandon_us": config.short_abandon_us,
            "fcr_window_us": config.fcr_window_us,
            "anomalies": self.anomalies,
            "version": self.version,
        }


SEGMENT_ROW_FIELDS: tuple[str, ...] = (
    "tenant",
    "contact_id",
    "queue",
    "channel",
    "interval_start",
    "offered_ts",
    "customer_id",
    "reason",
    "outcome",
    "outcome_ts",
    "wait_us",
    "answer_agent_id",
    "transferred",
    "to_queue",
    "transferred_ts",
    "ended_ts",
    "talk_us",
    "hold_us",
    "end_agent_id",
    "wrapup_ts",
    "acw_us",
    "resolved",
    "disposition",
    "csat_responses",
    "csat_good",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "sl_threshold_us",
    "short_abandon_us",
    "fcr_window_us",
    "anomalies",
    "version",
)
