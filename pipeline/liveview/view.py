"""The whole centre's live view: the latest publication of every source, merged.

`apply` takes a message of the live topic: a publication whose version is at least the one
held for its part replaces that part; a lower version (a late or replayed message, or a new
owner still replaying what the last one had done) changes no figure but shows the partition's
owner is alive; anything unreadable is counted by reason, logged once in a while, and
skipped. A partition's recent and day parts are applied together only when their horizons
agree (a day part that arrives first waits for its recent part), so no bucket is counted
twice. Figures are computed once per change, for every page that asks, at the centre's
clock: the largest watermark of its sources.

What the page says of itself (`status`): how many of the events topic's partitions have a
publication, how long ago the least recent one was made, and which are stale (no
publication for `stale_after_s`, while a live owner publishes at least every
`live_heartbeat_s`): their figures are still counted, and the page marks them as old.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.core.clock import ZoneLookup
from pipeline.core.live import (
    DEFAULT_MAX_WAIT_US,
    AgentFigures,
    MergedBoard,
    QueueFigures,
)
from pipeline.liveview.publication import (
    BadPublication,
    Decoder,
    Publication,
    fcr_key,
    source_key,
)

log = logging.getLogger(__name__)
# A bad message is logged at most this often (each is counted).
LOG_EVERY_S = 60.0
# superseded: read on the way in, and followed by a later message of its key there (what
# compaction removes; never decoded: pipeline/liveview/reader.py).
OUTCOMES = ("applied", "old", "bad", "superseded")


@dataclass(slots=True)
class _Source:
    """One events partition's standing: what is applied of it, and what waits."""

    version: int = -1  # of the recent part applied
    day_version: int = -1
    horizon_us: int | None = None  # of the parts applied
    watermark_us: int = -1
    published_ms: int = 0  # the latest sign of life of its owner
    pending_day: Publication | None = None


class CentreView:
    """Implements the wallboard pages' `LiveView` over the live topic's messages."""

    def __init__(
        self,
        partitions: int,
        zone_of: ZoneLookup,
        max_wait_us: int = DEFAULT_MAX_WAIT_US,
        stale_after_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.partitions = partitions
        self.zone_of = zone_of
        self.max_wait_us = max_wait_us
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.board = MergedBoard()
        self.sources: dict[str, _Source] = {}
        self.counts: Counter[str] = Counter()  # messages by outcome (applied, old, bad:...)
        self.generation = 0
        self._decoder = Decoder()
        self._logged_at = -LOG_EVERY_S
        self._cache: dict[tuple[int, bool], list[QueueFigures]] = {}
        self._next: asyncio.Future[None] | None = None
        self._agents: tuple[int, list[AgentFigures]] = (-1, [])

    # --- input -------------------------------------------------------------------------------

    def superseded(self, count: int) -> None:
        """`count` messages were read and skipped: a later message of their key came after."""
        self.counts["superseded"] += count

    def apply(self, value: bytes | None) -> bool:
        """Take one message of the live topic; True when a figure may have changed."""
        try:
            publication = self._decoder.decode(value)
        except BadPublication as exc:
            self.counts["bad"] += 1
            now = time.monotonic()
            if now - self._logged_at >= LOG_EVERY_S:
                self._logged_at = now
                log.warning("skipped a message on the live topic: %s", exc)
            return False
        source = self.sources.setdefault(publication.partition_source, _Source())
        source.published_ms = max(source.published_ms, publication.published_ms)
        held = source.day_version if publication.is_day else source.version
        if publication.version < held:
            self.counts["old"] += 1
            return False
        self.counts["applied"] += 1
        if publication.is_fcr:
            source.version = publication.version
            source.watermark_us = max(source.watermark_us, publication.watermark_us)
            self.board.replace_fcr(publication.source, publication.fcr)
        elif publication.is_day:
            if publication.horizon_us != source.horizon_us:
                source.pending_day = publication  # its recent part comes next
                return False
            self._take_day(publication, source)
        else:
            pending = source.pending_day
            if pending is not None and pending.horizon_us == publication.horizon_us:
                self._take_day(pending, source)
            source.version = publication.version
            source.horizon_us = publication.horizon_us
            source.watermark_us = max(source.watermark_us, publication.watermark_us)
            self.board.replace(publication.source, publication.parts, publication.agents)
        self._bump()
        return True

    def _take_day(self, publication: Publication, source: _Source) -> None:
        source.day_version = publication.version
        source.pending_day = None
        self.board.replace(publication.source, publication.parts)

    def _bump(self) -> None:
        self.generation += 1
        self._cache.clear()
        if self._next is not None and not self._next.done():
            self._next.set_result(None)

    def next_change(self) -> asyncio.Future[None]:
        """Done at the next change: one future shared by every page waiting for it (no task
        per page and change, which hundreds of open wall screens would make costly)."""
        if self._next is None or self._next.done():
            self._next = asyncio.get_running_loop().create_future()
        return self._next

    # --- what the pages read -------------------------------------------------------------------

    @property
    def watermark_us(self) -> int:
        return max((s.watermark_us for s in self.sources.values()), default=-1)

    def live(self, per_channel: bool = False) -> list[QueueFigures]:
        key = (self.generation, per_channel)
        figures = self._cache.get(key)
        if figures is None:
            figures = self._cache[key] = self.board.figures(
                self.watermark_us, self.zone_of, per_channel, self.max_wait_us
            )
        return figures

    def agents(self) -> list[AgentFigures]:
        key = self.generation
        if self._agents[0] != key:
            self._agents = (key, self.board.agent_rows(self.watermark_us, self.zone_of))
        return self._agents[1]

    def day_counts(self) -> dict[tuple[str, str], list[tuple[int, list[int]]]]:
        return self.board.day_series(self.watermark_us, self.zone_of)

    def status(self) -> dict[str, Any]:
        """How current the view is: partitions with a publication, stale ones, and the age of
        the least recent publication."""
        now_ms = self.clock() * 1000
        expected = [source_key(p) for p in range(self.partitions)]
        present = [k for k in expected if k in self.sources]
        # The customer owners' partitions (live FCR): counted in "whole", not shown apart.
        fcr = [fcr_key(p) for p in range(self.partitions)]
        # Whole seconds: the page says "updated 3 s ago", and a status that changes only once a
        # second lets the pages share one rendering between changes.
        ages = {k: max(0, round((now_ms - self.sources[k].published_ms) / 1000)) for k in present}
        stale = sorted(k for k, age in ages.items() if age > self.stale_after_s)
        return {
            "partitions": self.partitions,
            "present": len(present),
            "missing": [k for k in expected if k not in self.sources],
            "stale": stale,
            "oldest_update_s": max(ages.values(), default=None),
            "newest_update_s": min(ages.values(), default=None),
            "fcr_missing": [k for k in fcr if k not in self.sources],
            "whole": len(present) == self.partitions
            and not stale
            and all(k in self.sources for k in fcr),
        }
