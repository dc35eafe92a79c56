"""Interval totals kept as the sum of their members' contributions.

A member (a segment, or a segment's FCR standing) contributes one count vector to one
interval. Replacing a member's contribution subtracts the old vector and adds the new one,
so a member applied twice, or updated late, changes nothing but what it should. `max_wait_us`
cannot be subtracted: when the member that held the maximum lowers or leaves, the maximum is
recomputed from the interval's members (rare: only a late, earlier outcome does it).

A contribution is held as given, one per member for as long as the member lives: callers pass
tuples, smaller than lists and safe to share (the FCR tracker passes one of four).
"""

from __future__ import annotations

import builtins
from collections.abc import Hashable, Iterable, Sequence

from pipeline.core.intervals import MAX_WAIT_INDEX, N_COUNTS, NO_WAIT, IntervalKey, zero_counts

_SUMMED = tuple(i for i in range(N_COUNTS) if i != MAX_WAIT_INDEX)


class IntervalStore:
    __slots__ = ("_members", "_where", "changed", "totals")

    def __init__(self) -> None:
        self.totals: dict[IntervalKey, list[int]] = {}
        self._members: dict[IntervalKey, dict[Hashable, Sequence[int]]] = {}
        self._where: dict[Hashable, IntervalKey] = {}
        self.changed: builtins.set[IntervalKey] = builtins.set()

    def __len__(self) -> int:
        return len(self.totals)

    def set(self, member: Hashable, key: IntervalKey, counts: Sequence[int]) -> None:
        """Make `counts` the member's whole contribution, to interval `key`."""
        old_key = self._where.get(member)
        if old_key is not None:
            members = self._members[old_key]
            old = members[member]
            if old_key == key:
                # Still "changed" when equal: a replayed input re-publishes the state it
                # touches, which is what makes a crash between two writes harmless.
                self.changed.add(key)
                if old != counts:
                    self._replace(members, member, key, old, counts)
                return
            self._remove(member, old_key, old)
        self._where[member] = key
        target = self._members.get(key)
        if target is None:
            target = self._members[key] = {}
            self.totals[key] = zero_counts()
        target[member] = counts
        total = self.totals[key]
        for i in _SUMMED:
            total[i] += counts[i]
        if counts[MAX_WAIT_INDEX] > total[MAX_WAIT_INDEX]:
            total[MAX_WAIT_INDEX] = counts[MAX_WAIT_INDEX]
        self.changed.add(key)

    def _replace(
        self,
        members: dict[Hashable, Sequence[int]],
        member: Hashable,
        key: IntervalKey,
        old: Sequence[int],
        counts: Sequence[int],
    ) -> None:
        """Same interval, new counts: add the difference; recompute the max only if the
        member held it and went down."""
        members[member] = counts
        total = self.totals[key]
        for i in _SUMMED:
            total[i] += counts[i] - old[i]
        new_wait, old_wait = counts[MAX_WAIT_INDEX], old[MAX_WAIT_INDEX]
        if new_wait >= total[MAX_WAIT_INDEX]:
            total[MAX_WAIT_INDEX] = new_wait
        elif old_wait == total[MAX_WAIT_INDEX]:
            total[MAX_WAIT_INDEX] = max(c[MAX_WAIT_INDEX] for c in members.values())

    def discard(self, member: Hashable) -> None:
        """Take the member's contribution out of its interval, if it has one."""
        key = self._where.pop(member, None)
        if key is not None:
            self._remove(member, key, self._members[key][member])

    def _remove(self, member: Hashable, key: IntervalKey, old: Sequence[int]) -> None:
        members = self._members[key]
        del members[member]
        total = self.totals[key]
        for i in _SUMMED:
            total[i] -= old[i]
        if old[MAX_WAIT_INDEX] != NO_WAIT and old[MAX_WAIT_INDEX] >= total[MAX_WAIT_INDEX]:
            total[MAX_WAIT_INDEX] = max(
                (c[MAX_WAIT_INDEX] for c in members.values()), default=NO_WAIT
            )
        self.changed.add(key)

    def members(self, key: IntervalKey) -> dict[Hashable, Sequence[int]]:
        return self._members.get(key, {})

    def drop(self, key: IntervalKey) -> None:
        """Forget an interval and its members (old time buckets no window reads any more)."""
        for member in self._members.pop(key, {}):
            self._where.pop(member, None)
        self.totals.pop(key, None)
        self.changed.discard(key)

    def take_changed(self) -> builtins.set[IntervalKey]:
        changed, self.changed = self.changed, builtins.set()
        return changed

    def keys(self) -> Iterable[IntervalKey]:
        return self.totals.keys()
