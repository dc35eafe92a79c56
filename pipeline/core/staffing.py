"""Live staffing advice: what each queue needs now, what it has, and what that delivers.

From the live figures of `pipeline.core.live` (a queue's tile and its channels' tiles, at the
view's clock), per (tenant, queue, channel):

- **arrival rate** λ: contacts offered in the trailing 15-minute window over the window's
  elapsed length (now minus its first minute: 14 to 15 minutes, docs/live.md);
- **AHT**: handle time over handled contacts in the trailing 60 minutes (today's when none
  was handled in the last hour);
- **patience**: the censored maximum-likelihood estimate for exponential patience, exposure
  over abandons, over the contacts offered in the trailing 60 minutes. Abandons count short
  ones too; the exposure is every wait that could have ended in an abandon: the waits of the
  answered, of the abandoned, and the waits so far of those still waiting. Used only with at
  least `min_abandons` abandons (Erlang A), else none (Erlang C);
- the queue's **service-level target** at the channel's threshold and short-abandon limit.

Agents **staffed** are those whose latest state lists the queue and is available, busy or in
after-contact work; an agent listing several queues counts in each of them. A queue with
several channels needs the sum of its channels' required agents; its staffed agents are shared
among its channels in proportion to their required agents (largest remainders, so the shares
add up to the staff), and each channel's service level is projected at its share.

Pure: `erlang.advise` does the maths; nothing here knows Faust, Kafka or ClickHouse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.core.catalogue import WINDOW_LABELS
from pipeline.core.clock import US_PER_S
from pipeline.core.erlang import (
    PATIENCE_RATIO_LIMIT,
    ServiceTarget,
    StaffingError,
    Traffic,
    advise,
    service_level,
)
from pipeline.core.intervals import COUNT_FIELDS
from pipeline.core.live import TODAY, QueueFigures

# Agent states that count as staffed: on the floor, taking or finishing contacts.
STAFFED_STATES: tuple[str, ...] = ("available", "busy", "acw")
ARRIVAL_WINDOW = "15m"  # the arrival rate's window
HANDLE_WINDOW = "60m"  # AHT's and patience's: more contacts, steadier
HANDLE_FALLBACK_WINDOW = TODAY  # AHT when nothing was handled in HANDLE_WINDOW

_OFFERED, _HANDLED, _HANDLE_SUM, _ABANDONED, _SHORT, _ANSWERED_WAITS, _ABANDONED_WAITS = (
    COUNT_FIELDS.index(name)
    for name in (
        "offered",
        "handled",
        "handle_sum_us",
        "abandoned",
        "short_abandoned",
        "wait_answered_sum_us",
        "wait_abandoned_sum_us",
    )
)

Group = tuple[str, str, str]  # (tenant, queue, channel)
# (tenant, queue, channel) -> the channel's service target, None when it has none.
TargetLookup = Callable[[str, str, str], ServiceTarget | None]


class Demand(NamedTuple):
    """A channel's trailing figures, as counted: what its traffic is estimated from."""

    offered: int  # in the arrival window
    elapsed_s: float  # the arrival window's length so far
    handled: int  # in the handle window (or the fallback's)
    handle_sum_s: float
    abandons: int  # in the handle window, short abandons included
    exposure_s: float  # waits in the handle window: answered, abandoned, still waiting

    @property
    def rate_per_s(self) -> float:
        return self.offered / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def aht_s(self) -> float | None:
        return self.handle_sum_s / self.handled if self.handled else None

    def patience_s(self, min_abandons: int) -> float | None:
        """Exposure over abandons, with at least `min_abandons` of them; else None."""
        if self.abandons < max(min_abandons, 1) or self.exposure_s <= 0:
            return None
        return self.exposure_s / self.abandons

    def traffic(self, min_abandons: int) -> Traffic | None:
        """Erlang A's traffic (C's without a patience estimate); None without arrivals or
        without a handle time to go by."""
        aht = self.aht_s
        if not self.offered or self.elapsed_s <= 0 or aht is None or aht <= 0:
            return None
        patience = self.patience_s(min_abandons)
        if patience is not None and patience > PATIENCE_RATIO_LIMIT * aht:
            patience = None  # customers that patient do not abandon: Erlang C
        return Traffic(self.rate_per_s, aht, patience)


def demand(tile: QueueFigures, now_us: int) -> Demand:
    """A channel tile's trailing figures at `now_us` (the clock its figures were made at)."""
    windows = tile.windows
    arrivals = windows[ARRIVAL_WINDOW]
    hour = windows[HANDLE_WINDOW].counts
    handled = hour if hour[_HANDLED] else windows[HANDLE_FALLBACK_WINDOW].counts
    exposure_us = (
        hour[_ANSWERED_WAITS] + hour[_ABANDONED_WAITS] + tile.waiting_sum_us.get(HANDLE_WINDOW, 0)
    )
    return Demand(
        arrivals.counts[_OFFERED],
        max(0, now_us - arrivals.start_us) / US_PER_S,
        handled[_HANDLED],
        handled[_HANDLE_SUM] / US_PER_S,
        hour[_ABANDONED] + hour[_SHORT],
        exposure_us / US_PER_S,
    )


def staffed(agents: Mapping[str, int]) -> int:
    """Agents on the floor from a queue tile's agents per state."""
    return sum(agents.get(state, 0) for state in STAFFED_STATES)


def shares(staff: int, weights: Sequence[int]) -> list[int]:
    """`staff` split in proportion to `weights` by largest remainders (ties to the first):
    whole agents that add up to `staff`, or all 0 when the weights are."""
    total = sum(weights)
    if total <= 0 or staff <= 0:
        return [0] * len(weights)
    exact = [staff * w / total for w in weights]
    out = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (out[i] - exact[i], i))
    for i in order[: staff - sum(out)]:
        out[i] += 1
    return out


class ChannelStaffing(NamedTuple):
    """One channel of a queue: its demand, the agents it needs, its share of the staff, and
    the service level projected at that share. `required` is None when it cannot be said
    (no service-level target, no handle time yet, or a load past the search limit: `note`)."""

    channel: str
    demand: Demand
    target: ServiceTarget | None
    traffic: Traffic | None
    required: int | None
    staffed: int
    projected_service_level: float | None  # None without arrivals or without `required`
    note: str | None = None

    @property
    def model(self) -> str | None:
        if self.traffic is None:
            return None
        return "erlang_c" if self.traffic.patience_s is None else "erlang_a"


@dataclass(frozen=True, slots=True)
class QueueStaffing:
    """A queue now: "needs `required` · has `staffed`", and its channels."""

    tenant: str
    queue: str
    staffed: int
    channels: tuple[ChannelStaffing, ...]

    @property
    def required(self) -> int | None:
        """The channels' required agents summed; None when no channel's can be said."""
        known = [c.required for c in self.channels if c.required is not None]
        if not known and self.channels:
            return None
        return sum(known)

    @property
    def gap(self) -> int | None:
        """Agents short (negative: to spare)."""
        required = self.required
        return None if required is None else required - self.staffed


class LiveStaffing:
    """Advises every queue of a view at each refresh, starting each channel's search from the
    agents it needed at the last one (trailing rates move little between refreshes), and
    projecting its service level at its last share of the staff in the same search (shares
    move less still); a share that did move costs one more service level."""

    def __init__(self, target_of: TargetLookup, min_abandons: int) -> None:
        self._target_of = target_of
        self._min_abandons = min_abandons
        # Per group at the last refresh: (agents required, share of the staff).
        self._previous: dict[Group, tuple[int, int]] = {}

    def advise(self, tiles: Iterable[QueueFigures], now_us: int) -> list[QueueStaffing]:
        """Queue tiles and channel tiles (`per_channel`) of one view at `now_us`: one
        `QueueStaffing` per queue tile, its channels from the channel tiles."""
        queues: dict[tuple[str, str], QueueFigures] = {}
        channels: dict[tuple[str, str], list[QueueFigures]] = {}
        for tile in tiles:
            if tile.channel is None:
                queues[(tile.tenant, tile.queue)] = tile
            else:
                channels.setdefault((tile.tenant, tile.queue), []).append(tile)
        previous, self._previous = self._previous, {}
        out = []
        for key, tile in queues.items():
            rows = sorted(channels.get(key, []), key=lambda t: t.channel or "")
            out.append(self._queue(tile, rows, now_us, previous))
        return out

    def _queue(
        self,
        tile: QueueFigures,
        rows: Sequence[QueueFigures],
        now_us: int,
        previous: Mapping[Group, tuple[int, int]],
    ) -> QueueStaffing:
        staff = staffed(tile.agents)
        needs = []
        for row in rows:
            assert row.channel is not None
            group = (row.tenant, row.queue, row.channel)
            # A queue's only channel has the whole staff; others most likely their last share.
            last = previous.get(group)
            share = staff if len(rows) == 1 else (None if last is None else last[1])
            guess = None if last is None else last[0]
            needs.append(self._need(group, demand(row, now_us), guess, share))
        split = shares(staff, [need.required or 0 for need in needs])
        channels = []
        for need, share in zip(needs, split, strict=True):
            if need.required is not None:
                self._previous[need.group] = (need.required, share)
            channels.append(
                ChannelStaffing(
                    need.group[2],
                    need.demand,
                    need.target,
                    need.traffic,
                    need.required,
                    share,
                    need.projected if share == need.share else _projected(need, share),
                    need.note,
                )
            )
        return QueueStaffing(tile.tenant, tile.queue, staff, tuple(channels))

    def _need(self, group: Group, dem: Demand, guess: int | None, share: int | None) -> _Need:
        return channel_need(group, dem, self._target_of(*group), self._min_abandons, guess, share)


def channel_need(
    group: Group,
    dem: Demand,
    target: ServiceTarget | None,
    min_abandons: int,
    guess: int | None = None,
    share: int | None = None,
) -> _Need:
    """A channel's need for its demand and target, and the service level projected at
    `share` agents if given: what the live view and `ccpipe staffing history` both advise."""
    if target is None:
        return _Need(group, dem, None, None, None, note="no service-level target")
    if not dem.offered:
        return _Need(group, dem, target, None, 0)
    traffic = dem.traffic(min_abandons)
    if traffic is None:
        return _Need(group, dem, target, None, None, note="no contact handled yet")
    try:
        advice = advise(traffic, target, share or 0, guess)
    except StaffingError as exc:
        return _Need(group, dem, target, traffic, None, note=str(exc))
    return _Need(
        group, dem, target, traffic, advice.required.agents, share,
        advice.projected_service_level,
    )  # fmt: skip


def interval_demand(counts: Mapping[str, int], interval_s: float) -> Demand:
    """One stored interval's demand (`kpi_intervals_merged` counts by name): its offers over
    the interval, its handle time, and patience from its abandons over the waits that ended
    in it (answered and abandoned; history has no waits still open, docs/staffing.md)."""
    return Demand(
        offered=counts["offered"],
        elapsed_s=interval_s,
        handled=counts["handled"],
        handle_sum_s=counts["handle_sum_us"] / US_PER_S,
        abandons=counts["abandoned"] + counts["short_abandoned"],
        exposure_s=(counts["wait_answered_sum_us"] + counts["wait_abandoned_sum_us"]) / US_PER_S,
    )


def _projected(need: _Need, share: int) -> float | None:
    """The service level `share` agents give the need's traffic (0 with none)."""
    traffic, target = need.traffic, need.target
    if traffic is None or target is None or need.required is None:
        return None
    if not share:
        return 0.0
    return service_level(traffic, share, target.threshold_s, target.short_abandon_s)


class _Need(NamedTuple):
    group: Group
    demand: Demand
    target: ServiceTarget | None
    traffic: Traffic | None
    required: int | None
    share: int | None = None  # the agents `projected` is at
    projected: float | None = None
    note: str | None = None


# How the figures say where they come from (docs and the wallboard's tooltips).
INPUTS_TEXT = (
    f"Arrivals over the last {WINDOW_LABELS[ARRIVAL_WINDOW]}, handle time and patience over "
    f"the last {WINDOW_LABELS[HANDLE_WINDOW]}, the queue's service-level target"
)
