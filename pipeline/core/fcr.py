"""First-contact resolution, kept per (tenant, customer).

A handled segment S with a customer is resolved at first contact when its wrap-up did not
say `resolved: false` and no offer of a *different* contact of the same customer falls in
(S.offered, S.offered + window]. S is pending until the watermark (the largest event time
seen) is past S.offered + window.

The tracker only needs one small fact per segment (`FcrFact`), so in the stream it can live
on another partition, keyed by customer, fed by the segments' owners. Its output is a count
vector per segment (eligible, resolved, pending) into an `IntervalStore`.

With `live=True` it also keeps the wallboard's FCR (catalogue `FCR_LIVE`) per (tenant, queue,
channel) and local day: eligible and resolved by the day each window closed (the 7 and 30 day
figures), and today's provisional standing by the day of the offer (handled with a customer,
come back within 24 hours so far, wrapped up unresolved), exported as `FcrPart`s.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Hashable
from operator import attrgetter
from typing import NamedTuple

import msgspec

from pipeline.core.catalogue import REPEAT_WINDOW_S
from pipeline.core.clock import US_PER_S, LocalDays, ZoneLookup
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


REPEAT_US = REPEAT_WINDOW_S * US_PER_S
# Closed windows are kept by day for the longest live FCR figure (30 days), and a day more.
CLOSED_DAYS_KEPT = 31
# Today's provisional standing, by the day of the offer: today and yesterday.
PROVISIONAL_DAYS_KEPT = 2
DAY_US = 86400 * US_PER_S
Group = tuple[str, str, str]  # (tenant, queue, channel)
DayKey = tuple[str, str, str, int]  # (tenant, queue, channel, local day start)


class FcrPart(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The live FCR of one (tenant, queue, channel) at one customer owner: `closed` holds
    (local day, eligible, resolved) by the day each FCR window closed; `today` (local day of
    the offer, handled with a customer, whose customer came back within 24 h, not resolved so
    far: came back or wrapped up unresolved)."""

    tenant: str
    queue: str
    channel: str
    closed: list[tuple[int, int, int]]
    today: list[tuple[int, int, int, int]]

    @property
    def group(self) -> Group:
        return (self.tenant, self.queue, self.channel)


class DaySums:
    """Small count vectors per (group, day), each the sum of its members' latest vector."""

    __slots__ = ("_days", "_where", "changed", "totals")

    def __init__(self) -> None:
        self.totals: dict[DayKey, list[int]] = {}
        self._where: dict[Hashable, tuple[DayKey, tuple[int, ...]]] = {}
        # The members per day, so that forgetting old days (at every live publication) does
        # not walk every member: 8 % of a catching-up worker's CPU did (docs/reliability.md).
        self._days: dict[int, set[Hashable]] = {}
        self.changed: set[Group] = set()

    def set(self, member: Hashable, key: DayKey, vector: tuple[int, ...]) -> None:
        held = self._where.get(member)
        if held == (key, vector):
            return
        if held is not None:
            self.discard(member)
        total = self.totals.get(key)
        if total is None:
            total = self.totals[key] = [0] * len(vector)
        for i, value in enumerate(vector):
            total[i] += value
        self._where[member] = (key, vector)
        self._days.setdefault(key[3], set()).add(member)
        self.changed.add(key[:3])

    def discard(self, member: Hashable) -> None:
        held = self._where.pop(member, None)
        if held is None:
            return
        key, vector = held
        total = self.totals.get(key)
        if total is not None:  # None: emptied by members of zero vectors before this one
            for i, value in enumerate(vector):
                total[i] -= value
            if not any(total):
                del self.totals[key]
        members = self._days[key[3]]
        members.discard(member)
        if not members:
            del self._days[key[3]]
        self.changed.add(key[:3])

    def drop_before(self, day_us: int) -> None:
        for day in [day for day in self._days if day < day_us]:
            for member in list(self._days.get(day, ())):
                self.discard(member)


class FcrTracker:
    def __init__(
        self,
        intervals: IntervalStore | None = None,
        zone_of: ZoneLookup | None = None,
    ) -> None:
        self.intervals = intervals if intervals is not None else IntervalStore()
        # The live figures (`live`), kept when a zone lookup is given (the stream's FCR owners).
        self._day_of = None if zone_of is None else LocalDays(zone_of)
        self.closed = DaySums()  # (1, resolved) by the local day a window closed
        self.provisional = DaySums()  # (1, came back, not resolved) by the day of the offer
        self._parts: dict[Group, FcrPart] = {}
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
        """Segments whose window may hold an offer at `offered_us` need a fresh look (and,
        for the live figures, those it makes a repeat within 24 hours)."""
        facts = customer.facts
        lookback = customer.max_window
        if self._day_of is not None:
            lookback = max(lookback, REPEAT_US)
        first: OfferKey = (offered_us - lookback,)
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
        self.closed.discard(sid)
        self.provisional.discard(sid)

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
        if self._day_of is not None:
            self._evaluate_live(customer, fact, counts)

    def _evaluate_live(self, customer: _Customer, fact: FcrFact, counts: tuple[int, ...]) -> None:
        sid = fact.sid
        if not fact.handled:
            self.closed.discard(sid)
            self.provisional.discard(sid)
            return
        assert self._day_of is not None
        group = fact.interval[:3]
        if counts is IS_PENDING:
            self.closed.discard(sid)
        else:
            close = self._day_of(sid.tenant, fact.offered_us + fact.window_us)
            self.closed.set(sid, (*group, close), (1, int(counts is IS_RESOLVED)))
        # An offer's day no live figure reads is not summed: `live_parts` would drop it at
        # once, and a rebuild evaluates every fact held, most of them days old.
        if fact.offered_us < self.watermark_us - (PROVISIONAL_DAYS_KEPT + 1) * DAY_US:
            self.provisional.discard(sid)
            return
        came_back = self._repeat_in_window(customer, fact, fact.offered_us + REPEAT_US)
        day = self._day_of(sid.tenant, fact.offered_us)
        not_resolved = came_back or not fact.resolved_flag
        self.provisional.set(sid, (*group, day), (1, int(came_back), int(not_resolved)))

    def live_parts(self, now_us: int) -> list[FcrPart]:
        """The live FCR of every group as parts, good at `now_us` and later that day; a part
        is made again only when its group changed. Forgets days no live figure reads."""
        self.closed.drop_before(now_us - CLOSED_DAYS_KEPT * DAY_US)
        self.provisional.drop_before(now_us - PROVISIONAL_DAYS_KEPT * DAY_US)
        if self._day_of is not None:
            self._day_of.forget_before(now_us - (CLOSED_DAYS_KEPT + 1) * DAY_US)
        changed = self.closed.changed | self.provisional.changed
        self.closed.changed, self.provisional.changed = set(), set()
        if changed:
            closed: dict[Group, list[tuple[int, int, int]]] = {}
            for (t, q, c, day), (eligible, resolved) in sorted(self.closed.totals.items()):
                if (t, q, c) in changed:
                    closed.setdefault((t, q, c), []).append((day, eligible, resolved))
            today: dict[Group, list[tuple[int, int, int, int]]] = {}
            for (t, q, c, day), values in sorted(self.provisional.totals.items()):
                if (t, q, c) in changed:
                    handled, came_back, not_resolved = values
                    today.setdefault((t, q, c), []).append((day, handled, came_back, not_resolved))
            for group in changed:
                if group in closed or group in today:
                    self._parts[group] = FcrPart(
                        *group, closed.get(group, []), today.get(group, [])
                    )
                else:
                    self._parts.pop(group, None)
        return list(self._parts.values())

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
