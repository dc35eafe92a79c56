"""`ccpipe recompute`: interval rows rebuilt from the stored segments with the settings in
force for each interval's date (docs/definitions.md).

Every segment row carries the thresholds it was counted with, and `kpi_interval_counts`
counts the segments with them, exactly as the stream does (tests/store holds the two equal).
So a recompute is two replacing writes, never an added row:

1. the segments of each interval whose stored thresholds differ from the version in force are
   written again with that version's thresholds and their own `version` (an equal version
   replaces: ReplacingMergeTree keeps the last row inserted);
2. each interval whose counts or settings version then differ from the stream's row gets a
   new row under the same key and source, one `version` above the largest stored (and a row
   of any other source of that interval, from an older layout of partial states, is emptied
   the same way).

Rows that do not change are not written, so a threshold changed from a date mid-range
rewrites the rows after it and leaves the ones before it, and their settings version, alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.config import Settings
from pipeline.core.catalogue import KPIS
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, report_row, zero_counts
from pipeline.core.thresholds import QueueConfig
from pipeline.sink.rows import STREAM_SOURCE
from pipeline.store import Store
from pipeline.store.tables import KPI_INTERVAL_COLUMNS, KPI_INTERVALS, SEGMENT_COLUMNS, SEGMENTS

_THRESHOLDS = ("sl_threshold_us", "short_abandon_us", "fcr_window_us")
_KEY = "tenant, queue, channel, toUnixTimestamp64Micro(interval_start) AS start_us"
Key = tuple[str, str, str, int]


@dataclass(frozen=True, slots=True)
class Change:
    """The largest change of one KPI over the range: where, and from what to what."""

    kpi: str
    key: Key
    old: float | None
    new: float | None

    @property
    def size(self) -> float:
        return abs((self.new or 0.0) - (self.old or 0.0))


@dataclass(slots=True)
class RecomputeResult:
    intervals: int = 0  # intervals with segments in the range
    segments_rewritten: int = 0
    changed: list[Key] = field(default_factory=list)  # interval rows written
    largest: dict[str, Change] = field(default_factory=dict)  # per KPI that moved


@dataclass(frozen=True, slots=True)
class Scope:
    """Which intervals: [from_us, to_us), optionally one queue."""

    from_us: int
    to_us: int
    queue: str | None = None

    def where(self) -> str:
        own = " AND queue = {queue:String}" if self.queue is not None else ""
        return (
            "interval_start >= fromUnixTimestamp64Micro({from_us:Int64}) "
            "AND interval_start < fromUnixTimestamp64Micro({to_us:Int64})" + own
        )

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"from_us": self.from_us, "to_us": self.to_us}
        if self.queue is not None:
            params["queue"] = self.queue
        return params


def recompute(
    store: Store,
    settings: Settings,
    scope: Scope,
    progress: Callable[[str], None] | None = None,
) -> RecomputeResult:
    """Rebuild the interval rows of `scope` with the settings in force for each interval."""
    result = RecomputeResult()
    say = progress or (lambda _: None)
    stored = _stored_thresholds(store, scope)
    result.intervals = len(stored)
    configs = {key: settings.queue(*key) for key in stored}
    groups: dict[tuple[str, str, str, QueueConfig], list[int]] = {}
    for key, thresholds in stored.items():
        config = configs[key]
        if any(t != (config.sl_threshold_us, config.short_abandon_us, config.fcr_window_us)
               for t in thresholds):  # fmt: skip
            groups.setdefault((*key[:3], config), []).append(key[3])
    for done, ((tenant, queue, channel, config), starts) in enumerate(groups.items(), 1):
        say(f"segments of {tenant}/{queue}/{channel}: {done}/{len(groups)} groups")
        result.segments_rewritten += _rewrite_segments(store, tenant, queue, channel, starts,
                                                       config)  # fmt: skip
    say("comparing interval rows")
    old = _rows(store, "kpi_intervals_merged", scope, with_version=True)
    new = _rows(store, "kpi_interval_counts", scope, with_version=False)
    versions = _source_versions(store, scope)
    empty = zero_counts()
    writes = []
    for key, counts in sorted(new.items()):
        settings_version = configs[key].version if key in configs else ""
        before = old.get(key)
        if before is not None and before == (*counts, settings_version):
            continue
        result.changed.append(key)
        sources = versions.get(key, {})
        writes.append((*key, *counts, settings_version, STREAM_SOURCE,
                       sources.get(STREAM_SOURCE, 0) + 1))  # fmt: skip
        # Rows of other sources (partial states of an older layout) are emptied in place:
        # the interval's merged figures are then the recomputed row alone.
        writes += [(*key, *empty, settings_version, source, version + 1)
                   for source, version in sources.items() if source != STREAM_SOURCE]  # fmt: skip
        _note_changes(result, key, None if before is None else before[:-1], counts)
    if writes:
        data = [list(column) for column in zip(*writes, strict=True)]
        store.insert(KPI_INTERVALS, KPI_INTERVAL_COLUMNS, data)
    say(f"{len(writes):,} interval rows written")
    return result


def _stored_thresholds(store: Store, scope: Scope) -> dict[Key, set[tuple[int, int, int]]]:
    """Per interval with segments in scope, the distinct thresholds its segments carry."""
    rows = store.query(
        f"SELECT {_KEY}, groupUniqArray(({', '.join(_THRESHOLDS)})) AS thresholds "
        f"FROM {SEGMENTS} FINAL WHERE {scope.where()} GROUP BY tenant, queue, channel, start_us",
        scope.params(),
    ).rows
    return {tuple(row[:4]): {tuple(t) for t in row[4]} for row in rows}


def _rewrite_segments(
    store: Store, tenant: str, queue: str, channel: str, starts: Sequence[int], config: QueueConfig
) -> int:
    """Write again the segments of these intervals with `config`'s thresholds (same version:
    the new row replaces the old)."""
    where = (
        "tenant = {tenant:String} AND queue = {queue:String} AND channel = {channel:String} "
        "AND has({starts:Array(Int64)}, toUnixTimestamp64Micro(interval_start))"
    )
    params: dict[str, Any] = {"tenant": tenant, "queue": queue, "channel": channel,
                              "starts": list(starts)}  # fmt: skip
    values = dict(zip(_THRESHOLDS, (config.sl_threshold_us, config.short_abandon_us,
                                    config.fcr_window_us), strict=True))  # fmt: skip
    select = ", ".join(
        f"toInt64({value}) AS {column}" if (value := values.get(column)) is not None else column
        for column in SEGMENT_COLUMNS
    )
    count: int = store.query(f"SELECT count() FROM {SEGMENTS} FINAL WHERE {where}", params).scalar()
    store.execute(
        f"INSERT INTO {SEGMENTS} ({', '.join(SEGMENT_COLUMNS)}) "
        f"SELECT {select} FROM {SEGMENTS} FINAL WHERE {where}",
        params,
    )
    return count


def _rows(
    store: Store, view: str, scope: Scope, *, with_version: bool
) -> dict[Key, tuple[Any, ...]]:
    columns = [*COUNT_FIELDS, "settings_version"] if with_version else list(COUNT_FIELDS)
    rows = store.query(
        f"SELECT {_KEY}, {', '.join(columns)} FROM {view} WHERE {scope.where()}", scope.params()
    ).rows
    return {tuple(row[:4]): tuple(row[4:]) for row in rows}


def _source_versions(store: Store, scope: Scope) -> dict[Key, dict[str, int]]:
    """Per interval, the largest version of each source's rows."""
    rows = store.query(
        f"SELECT {_KEY}, source, max(version) FROM {KPI_INTERVALS} WHERE {scope.where()} "
        "GROUP BY tenant, queue, channel, start_us, source",
        scope.params(),
    ).rows
    versions: dict[Key, dict[str, int]] = {}
    for *key, source, version in rows:
        versions.setdefault(tuple(key), {})[source] = int(version)
    return versions


def _note_changes(
    result: RecomputeResult, key: Key, before: Sequence[int] | None, after: Sequence[int]
) -> None:
    interval = IntervalKey(*key)
    new = report_row(interval, after)
    old = report_row(interval, before) if before is not None else {}
    for kpi in KPIS:
        change = Change(kpi.name, key, old.get(kpi.name), new.get(kpi.name))
        if change.old == change.new:
            continue
        held = result.largest.get(kpi.name)
        if held is None or change.size > held.size:
            result.largest[kpi.name] = change
