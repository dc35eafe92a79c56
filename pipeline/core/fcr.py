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
from collections.abc import Callable
from operator import attrgetter
from typing import NamedTuple

from pipeline.core.interval_store import IntervalStore
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, zero_counts
from pipeline.core.segments import SegmentId

ELIGIBLE = COUNT_FIELDS.index("fcr_eligible")
RESOLVED = COUNT_FIELDS.index("fcr_resolved")
PENDING = COUNT_FIELDS.index("fcr_pending")


def _standing(*indexes: int) -> tuple[int, ...]:
    counts = zero_counts()
    for i in indexes:
        counts[i] = 1
    return tuple(counts)


# A segment's FCR contribution is one of four vectors: shared, not one list per segment.
NOT_HANDLED = _standing()
IS_PENDING = _standing(PENDING)
NOT_RESOLVED = _standing(ELIGIBLE)
IS_RESOLVED = _standing(ELIGIBLE, RESOLVED)


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
# (offered_us, contact_id, sid), or a prefix of it to search by.
OfferKey = tuple[int] | tuple[int, str] | tuple[int, str, SegmentId]


# A customer's facts are kept in offer order: (offered_us, contact_id, sid).
_offer_order: Callable[[FcrFact], OfferKey] = attrgetter("offered_us", "sid.contact_id", "sid")
# Up to this many facts, a customer's fact of a segment is found by a scan of its few facts;
# beyond, by a dict (one customer can have any number of contacts).
_SCAN = 8


class _Customer:
    """One customer's facts, sorted by offer: the order a resolution check looks through.

    Most customers have one or two facts: a list of them costs a fraction of a dict by
    segment plus a list of sort keys (~300 bytes a customer less, over simulated events).
    """

    __slots__ = ("by_sid", "ckey", "facts", "max_window")

    def __init__(self, ckey: CustomerKey, fact: FcrFact) -> None:
        self.ckey = ckey  # the tracker's key, shared by the entries that name the customer
        self.facts = [fact]
        self.by_sid: dict[SegmentId, FcrFact] | None = None
        self.max_window = max(0, fact.window_us)

    def get(self, sid: SegmentId) -> FcrFact | None:
        if self.by_sid is not None:
            return self.by_sid.get(sid)
        for fact in self.facts:
            if fact.sid == sid:
                return fact
        return None

    def add(self, fact: FcrFact) -> None:
        """A fact of a segment it holds none of."""
        insort(self.facts, fact, key=_offer_order)
        if self.by_sid is not None:
            self.by_sid[fact.sid] = fact
        elif len(self.facts) > _SCAN:
            self.by_sid = {f.sid: f for f in self.facts}
        if fact.window_us > self.max_window:
            self.max_window = fact.window_us

    def discard(self, fact: FcrFact) -> None:
        """A fact it holds."""
        del self.facts[bisect_left(self.facts, _offer_order(fact), key=_offer_order)]
        if self.by_sid is not None:
            del self.by_sid[fact.sid]


class FcrTracker:
    def __init__(self, intervals: IntervalStore | None = None) -> None:
        self.intervals = intervals if intervals is not None else IntervalStore()
        self.watermark_us = -1
        self._customers: dict[CustomerKey, _Customer] = {}
        # Facts whose standing may have changed. A fact evaluates only while it is (equal to)
        # its segment's current fact: one that was replaced since has its successor here.
        # Facts, not (customer, segment) pairs: a pair per fact was ~60 bytes more each.
        self._dirty: set[FcrFact] = set()
        # (window close, customer, segment) for handled segments still pending.
        self._closing: list[tuple[int, CustomerKey, SegmentId]] = []
        # One key object per interval, for the facts to share; grows like `intervals`.
        self._keys: dict[IntervalKey, IntervalKey] = {}

    def __len__(self) -> int:
        return len(self._customers)

    def observe(self, ts_us: int) -> None:
        if ts_us > self.watermark_us:
            self.watermark_us = ts_us

    def upsert(self, fact: FcrFact) -> None:
        """Record the latest fact of a segment; marks what it can change for `flush`."""
        fact = self._shared(fact)
        ckey = (fact.sid.tenant, fact.customer_id)
        customer = self._customers.get(ckey)
        if customer is None:
            customer = self._customers[ckey] = _Customer(ckey, fact)
        else:
            old = customer.get(fact.sid)
            if old == fact:
                self._dirty.add(old)  # re-publish what a replay touches
                return
            if old is not None:
                customer.discard(old)
                self._mark_window(customer, old.offered_us)
            customer.add(fact)
        self._mark_window(customer, fact.offered_us)
        self._dirty.add(fact)

    def _shared(self, fact: FcrFact) -> FcrFact:
        """The fact, holding the same interval key object as every other fact of its interval,
        and that key's tenant and queue strings.

        A fact decoded from a message (the stream's FCR stage) has its own copies of all of
        them: ~380 bytes a fact. Facts made by a `SegmentState` share them already (the first
        key of each interval becomes the one kept) and pass through unchanged.
        """
        interval = self._keys.setdefault(fact.interval, fact.interval)
        sid = fact.sid
        shared = sid.tenant is interval.tenant and sid.queue is interval.queue
        if shared and interval is fact.interval:
            return fact
        if (sid.tenant, sid.queue) == (interval.tenant, interval.queue):  # as a segment's are
            sid = SegmentId(interval.tenant, sid.contact_id, interval.queue)
        return FcrFact(
            sid,
            fact.customer_id,
            fact.offered_us,
            fact.handled,
            fact.resolved_flag,
            fact.window_us,
            interval,
        )

    def _mark_window(self, customer: _Customer, offered_us: int) -> None:
        """Segments whose window may hold an offer at `offered_us` need a fresh look."""
        facts = customer.facts
        first: OfferKey = (offered_us - customer.max_window,)
        end: OfferKey = (offered_us,)
        lo = bisect_left(facts, first, key=_offer_order)
        hi = bisect_left(facts, end, key=_offer_order)
        self._dirty.update(facts[lo:hi])

    def remove(self, sid: SegmentId, customer_id: str) -> None:
        """Forget a segment's fact (its offer now names another customer, or none)."""
        customer = self._customers.get((sid.tenant, customer_id))
        old = None if customer is None else customer.get(sid)
        if customer is None or old is None:
            return
        customer.discard(old)
        self._mark_window(customer, old.offered_us)
        self.intervals.discard(sid)

    def customer_facts(self, tenant: str, customer_id: str) -> list[FcrFact]:
        customer = self._customers.get((tenant, customer_id))
        return [] if customer is None else list(customer.facts)

    def flush(self) -> None:
        """Recompute every segment whose standing may have changed into `intervals`."""
        customers = self._customers
        closing = self._closing
        while closing and closing[0][0] < self.watermark_us:
            _, ckey, sid = heapq.heappop(closing)
            current = customers[ckey].get(sid)
            if current is not None:
                self._dirty.add(current)
        dirty, self._dirty = self._dirty, set()
        for fact in dirty:
            customer = customers[(fact.sid.tenant, fact.customer_id)]
            current = customer.get(fact.sid)
            if current is not None and current == fact:
                self._evaluate(customer, current)

    def _evaluate(self, customer: _Customer, fact: FcrFact) -> None:
        counts = NOT_HANDLED
        if fact.handled:
            close = fact.offered_us + fact.window_us
            if self.watermark_us <= close:
                counts = IS_PENDING
                heapq.heappush(self._closing, (close, customer.ckey, fact.sid))
            elif fact.resolved_flag and not self._repeat_in_window(customer, fact, close):
                counts = IS_RESOLVED
            else:
                counts = NOT_RESOLVED
        self.intervals.set(fact.sid, fact.interval, counts)

    @staticmethod
    def _repeat_in_window(customer: _Customer, fact: FcrFact, close: int) -> bool:
        facts = customer.facts
        after: OfferKey = (fact.offered_us, "\U0010ffff")  # past every offer at that time
        lo = bisect_right(facts, after, key=_offer_order)
        for later in facts[lo:]:
            if later.offered_us > close:
                return False
            if later.sid.contact_id != fact.sid.contact_id:
                return True
        return False
