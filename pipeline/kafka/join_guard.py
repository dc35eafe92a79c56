"""A group member kafka-python left half-joined, noticed and sent to join again.

kafka-python 3.0 (3.0.12, and its main branch in December 2026) runs a group join as a task
that each `poll` awaits for at most that poll's timeout. When this member leads and the
rejoin was asked for by new topic metadata (every start: the first join happens before the
topics' partitions are known), `need_rejoin()` turns False as soon as the member has
computed the assignment, before the SyncGroup answer is in. A poll whose timeout ends in
that gap leaves the finished task uncollected, and later polls no longer look at it: the
assignment is never applied, heartbeats stay disabled, and the broker drops the member a
session later. The consumer then lives on with no partitions, for good. Measured here: every
start with back-to-back 1 ms polls, and 2 starts in 45 with the sink's 0.2 s polls on a
loaded machine (the CI failure of 2026-12-04: no rows from a sink that logged "assigned 0
partitions" and nothing after). Java's client counts a join in flight as a rejoin needed;
this guard stands in for that until kafka-python does.

`JoinGuard.check()` runs after every poll: a member that stays REBALANCING for `hold_s`
while its coordinator needs no rejoin is asked to rejoin (a new JoinGroup), with a warning.
Nothing is lost: the stranded member holds no partitions, or had them revoked before the
join (the sink drops what it held and reads it again).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kafka.coordinator.base import MemberState

log = logging.getLogger("ccpipe.kafka")

# Longer than a healthy leader's SyncGroup round trip on a loaded machine (milliseconds to
# a second), short beside the session timeout after which the broker drops the member.
HOLD_S = 5.0


class JoinGuard:
    """Watches one subscribed kafka-python consumer for a join it will never finish."""

    def __init__(
        self, consumer: Any, hold_s: float = HOLD_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._consumer = consumer
        # kafka-python has no public way to see or restart a join; its coordinator has both.
        # A release without them (or a consumer that is not kafka-python's) is not watched.
        coordinator = getattr(consumer, "_coordinator", None)
        watchable = all(hasattr(coordinator, m) for m in ("need_rejoin", "request_rejoin"))
        self._coordinator = coordinator if watchable else None
        self._hold_s = hold_s
        self._clock = clock
        self._since: float | None = None
        self.rejoins = 0

    def stranded(self) -> bool:
        """Rebalancing, with nothing left that would finish the rebalance."""
        if self._coordinator is None:
            return False
        state = self._consumer.group_metadata().state
        return bool(state == MemberState.REBALANCING and not self._coordinator.need_rejoin())

    def check(self) -> bool:
        """After a poll: True when the member was found stranded for `hold_s` and asked to
        rejoin."""
        if not self.stranded():
            self._since = None
            return False
        now = self._clock()
        if self._since is None:
            self._since = now
        if now - self._since < self._hold_s:
            return False
        log.warning(
            "the consumer group join was left unfinished for %.0f s (a kafka-python 3.0 race "
            "between a poll's timeout and the SyncGroup answer); joining again",
            now - self._since,
        )
        self._coordinator.request_rejoin()  # type: ignore[union-attr]
        self._since = None
        self.rejoins += 1
        return True
