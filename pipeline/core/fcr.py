"""First-contact resolution, kept per (tenant, customer).

A handled segment S with a customer is resolved at first contact when its wrap-up did not
say `resolved: false` and no offer of a *different* contact of the same customer falls in
(S.offered, S.offered + window]. S is pending until the watermark (the largest event time
seen) is past S.offered + window.

The tracker only needs one small fact per segment (`FcrFact`), so in the stream it can live
on another partition, keyed by customer, fed by the segments' owners. Its output is a count
vector per segment (eligible, resolved, pending) into an `IntervalStore`.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from typing import NamedTuple

from pipeline.core.interval_store import IntervalStore
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, zero_counts
from pipeline.core.segments import SegmentId

ELIGIBLE = COUNT_FIELDS.index("fcr_eligible")
RESOLVED = COUNT_FIELDS.index("fcr_resolved")
PENDING = COUNT_FIELDS.index("fcr_pending")


class FcrFact(NamedTuple):
    """What FCR needs of one offered segment with a customer. Replaces any earlier fact."""

    sid: SegmentId
    customer_id: str
    offered_us: int
    handled: bool
    resolved_flag: bool
    window_us: int
    interval: IntervalKey


CustomerKey = tuple[str, str]  # (tenant, customer_id)


class _Customer:
    __slots__ = ("facts", "max_window", "offers")

    def __init__(self) -> None:
        self.facts: dict[SegmentId, FcrFact] = {}
        # Sorted (offered_us, contact_id, sid): the offers a resolution check looks through.
        self.offers: list[tuple[int, str, SegmentId]] = []
        self.max_window = 0


class FcrTracker:
    def __init__(self, intervals: IntervalStore | None = None) -> None:
        self.intervals = intervals if intervals is not None else IntervalStore()
        self.watermark_us = -1
        self._customers: dict[CustomerKey, _Customer] = {}
        self._dirty: set[tuple[CustomerKey, SegmentId]] = set()
        # (window close, customer, segment) for handled segments still pending.
        self._closing: list[tuple[int, CustomerKey, SegmentId]] = []

    def __len__(self) -> int:
        return len(self._customers)

    def observe(self, ts_us: int) -> None:
        if ts_us > self.watermark_us:
            self.watermark_us = ts_us

    def upsert(self, fact: FcrFact) -> None:
        """Record the latest fact of a segment; marks what it can change for `flush`."""
        ckey = (fact.sid.tenant, fact.customer_id)
        customer = self._customers.get(ckey)
        if customer is None:
            customer = self._customers[ckey] = _Customer()
        old = customer.facts.get(fact.sid)
        if old == fact:
            self._dirty.add((ckey, fact.sid))  # re-publish what a replay touches
            return
        if old is not None:
            entry = (old.offered_us, old.sid.contact_id, old.sid)
            del customer.offers[bisect_left(customer.offers, entry)]
            self._mark_window(ckey, customer, old.offered_us)
        customer.facts[fact.sid] = fact
        insort(customer.offers, (fact.offered_us, fact.sid.contact_id, fact.sid))
        if fact.window_us > customer.max_window:
            customer.max_window = fact.window_us
        self._mark_window(ckey, customer, fact.offered_us)
        self._dirty.add((ckey, fact.sid))

    def _mark_window(self, ckey: CustomerKey, customer: _Customer, offered_us: int) -> None:
        """Segments whose window may hold an offer at `offered_us` need a fresh look."""
        offers = customer.offers
        lo = bisect_left(offers, (offered_us - customer.max_window,))
        hi = bisect_left(offers, (offered_us,))
        for _, _, sid in offers[lo:hi]:
            self._dirty.add((ckey, sid))

    def remove(self, sid: SegmentId, customer_id: str) -> None:
        """Forget a segment's fact (its offer now names another customer, or none)."""
        ckey = (sid.tenant, customer_id)
        customer = self._customers.get(ckey)
        if customer is None or sid not in customer.facts:
            return
        old = customer.facts.pop(sid)
        entry = (old.offered_us, old.sid.contact_id, old.sid)
        del customer.offers[bisect_left(customer.offers, entry)]
        self._mark_window(ckey, customer, old.offered_us)
        self.intervals.discard(sid)

    def customer_facts(self, tenant: str, customer_id: str) -> list[FcrFact]:
        customer = self._customers.get((tenant, customer_id))
        return [] if customer is None else list(customer.facts.values())

    def flush(self) -> None:
        """Recompute every segment whose standing may have changed into `intervals`."""
        closing = self._closing
        while closing and closing[0][0] < self.watermark_us:
            _, ckey, sid = heapq.heappop(closing)
            self._dirty.add((ckey, sid))
        dirty, self._dirty = self._dirty, set()
        for ckey, sid in dirty:
            customer = self._customers[ckey]
            fact = customer.facts.get(sid)
            if fact is not None:
                self._evaluate(ckey, customer, fact)

    def _evaluate(self, ckey: CustomerKey, customer: _Customer, fact: FcrFact) -> None:
        counts = zero_counts()
        if fact.handled:
            close = fact.offered_us + fact.window_us
            if self.watermark_us > close:
                counts[ELIGIBLE] = 1
                counts[RESOLVED] = fact.resolved_flag and not self._repeat_in_window(
                    customer, fact, close
                )
            else:
                counts[PENDING] = 1
                heapq.heappush(self._closing, (close, ckey, fact.sid))
        self.intervals.set(fact.sid, fact.interval, counts)

    @staticmethod
    def _repeat_in_window(customer: _Customer, fact: FcrFact, close: int) -> bool:
        offers = customer.offers
        lo = bisect_right(offers, (fact.offered_us, "\U0010ffff"))
        for offered_us, contact_id, _ in offers[lo:]:
            if offered_us > close:
                return False
            if contact_id != fact.sid.contact_id:
                return True
        return False
