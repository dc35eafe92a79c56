"""Segments: one contact in one queue, built from its events in any arrival order.

Each part of a segment (its offer, its outcome, its transfer, its end, its wrap-up) is the
earliest event of that kind by (`ts`, `event_id`), so the result never depends on the order
events arrive in. Later events of a kind already held are anomalies: counted, not applied.
Survey responses all count (duplicates were removed by event id before they get here).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pipeline.config import QueueConfig
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
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, zero_counts


class SegmentId(NamedTuple):
    tenant: str
    contact_id: str
    queue: str


_I = {name: i for i, name in enumerate(COUNT_FIELDS)}
OFFERED, ANSWERED, ABANDONED, SHORT_ABANDONED = (
    _I["offered"],
    _I["answered"],
    _I["abandoned"],
    _I["short_abandoned"],
)
WITHIN_SL, WAIT_SUM, MAX_WAIT = (
    _I["answered_within_sl"],
    _I["wait_answered_sum_us"],
    _I["max_wait_us"],
)
HANDLED, HANDLE_SUM, TRANSFERRED = _I["handled"], _I["handle_sum_us"], _I["transferred"]
CSAT_N, CSAT_GOOD = _I["csat_responses"], _I["csat_good"]
NPS_N, NPS_PRO, NPS_DET = _I["nps_responses"], _I["nps_promoters"], _I["nps_detractors"]


def _earlier(event: ContactEvent, held: ContactEvent | None) -> bool:
    """Does `event` win over the one held? Earliest ts; equal ts, the smaller event_id."""
    if held is None:
        return True
    return (event.ts_us, event.event_id) < (held.ts_us, held.event_id)


class Segment:
    """The current state of one segment: the winning event of each kind, and survey counts."""

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
        self.offered: Offered | None = None
        self.outcome: Answered | Abandoned | None = None
        self.transferred: Transferred | None = None
        self.ended: Ended | None = None
        self.wrapup: WrapupEnded | None = None
        self.csat_responses = 0
        self.csat_good = 0
        self.nps_responses = 0
        self.nps_promoters = 0
        self.nps_detractors = 0
        self.anomalies = 0
        # Every customer whose FCR tracker was told of this segment: a changed offer withdraws
        # it from the others, again on every touch, in case a withdrawal was lost in a crash.
        self.fcr_customers: list[str] = []
        # The ids of the events applied: duplicates are recognised here, from state that is
        # recovered with the segment. A list, since a segment holds a handful of events.
        self.event_ids: list[str] = []

    @property
    def version(self) -> int:
        """Distinct events applied: grows with every change, so the largest is the latest."""
        return len(self.event_ids)

    def apply(self, event: ContactEvent) -> bool:
        """Apply one event of this segment; False if it is a duplicate (same event_id)."""
        if event.event_id in self.event_ids:
            return False
        self.event_ids.append(event.event_id)
        if isinstance(event, Offered):
            if _earlier(event, self.offered):
                self.anomalies += self.offered is not None
                self.offered = event
            else:
                self.anomalies += 1
        elif isinstance(event, Answered | Abandoned):
            if _earlier(event, self.outcome):
                self.anomalies += self.outcome is not None
                self.outcome = event
            else:
                self.anomalies += 1
        elif isinstance(event, Ended):
            if _earlier(event, self.ended):
                self.anomalies += self.ended is not None
                self.ended = event
            else:
                self.anomalies += 1
        elif isinstance(event, WrapupEnded):
            if _earlier(event, self.wrapup):
                self.anomalies += self.wrapup is not None
                self.wrapup = event
            else:
                self.anomalies += 1
        elif isinstance(event, Transferred):
            if _earlier(event, self.transferred):
                self.anomalies += self.transferred is not None
                self.transferred = event
            else:
                self.anomalies += 1
        elif isinstance(event, Survey):
            if event.csat is not None:
                self.csat_responses += 1
                self.csat_good += event.csat >= 4
            if event.nps is not None:
                self.nps_responses += 1
                self.nps_promoters += event.nps >= 9
                self.nps_detractors += event.nps <= 6
        return True

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

    def contribution(self, config: QueueConfig) -> list[int]:
        """This segment's counts in its interval (FCR counts come from the FCR tracker)."""
        counts = zero_counts()
        counts[OFFERED] = 1
        outcome = self.outcome
        if outcome is not None:
            wait = self.wait_us
            assert wait is not None
            counts[MAX_WAIT] = wait
            if isinstance(outcome, Answered):
                counts[ANSWERED] = 1
                counts[WAIT_SUM] = wait
                counts[WITHIN_SL] = wait <= config.sl_threshold_us
            elif wait >= config.short_abandon_us:
                counts[ABANDONED] = 1
            else:
                counts[SHORT_ABANDONED] = 1
        ended = self.ended
        if ended is not None:
            counts[HANDLED] = 1
            acw = self.wrapup.acw_us if self.wrapup is not None else 0
            counts[HANDLE_SUM] = ended.talk_us + ended.hold_us + acw
        if self.transferred is not None:
            counts[TRANSFERRED] = 1
        counts[CSAT_N] = self.csat_responses
        counts[CSAT_GOOD] = self.csat_good
        counts[NPS_N] = self.nps_responses
        counts[NPS_PRO] = self.nps_promoters
        counts[NPS_DET] = self.nps_detractors
        return counts

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
