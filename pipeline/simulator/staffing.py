"""Who works when: the planner's need per half hour, and the shifts that cover it.

Like a workforce-management tool, the planner works from the forecast, not from what will
happen: the offered load per team and half hour (arrivals times mean handle time), square-root
staffing on top (Halfin and Whitt's regime, where a safety margin of beta times the square root
of the load keeps waits short at any scale), plus the breaks. Shifts are a fixed length, so a
peak shorter than a shift is either over-staffed for hours or covered a little short; like a
real planner, this one accepts a small shortfall rather than add a whole shift for an hour.
That shortfall, and the breaks that fall near the peak, are what make waits grow at the peak.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.core.thresholds import DEFAULT_SL_THRESHOLD_S
from pipeline.simulator.demand import IntradayProfile
from pipeline.simulator.parameters import CentreConfig

SLOT_MS = 30 * 60 * 1000


@dataclass(frozen=True, slots=True)
class Shift:
    """One agent's working day: `rank` is the agent's place in its team's roster."""

    group: int
    rank: int
    start_ms: int
    end_ms: int
    breaks: tuple[tuple[int, int], ...]  # (start, duration) in ms


def mean_handle_s(config: CentreConfig, queue: str, channel: str) -> float:
    """Mean time an agent is taken by one segment of this queue and channel.

    Transferred segments are shorter (the first agent only finds out where it belongs).
    """
    qb = config.queues[queue]
    cb = config.channels[channel]
    if config.talk is None:
        talk = qb.talk_median_s * cb.talk_factor * math.exp(config.talk_sigma**2 / 2)
    else:
        talk = config.talk.mean
    talk *= 1 - qb.transfer_share * (1 - config.transfer_talk_factor)
    lo, hi = cb.answer_delay_s
    return (lo + hi) / 2 + talk + cb.hold_share * config.hold.mean + cb.acw.mean


def segment_share(config: CentreConfig, queue: str) -> float:
    """Segments offered to a queue per contact: its own, and those transferred in."""
    own = config.queues[queue].share
    transferred_in = 0.0
    for other, qb in config.queues.items():
        total = sum(w for _, w in qb.transfer_to)
        for target, weight in qb.transfer_to:
            if target == queue and other != queue:
                transferred_in += qb.share * qb.transfer_share * weight / total
    return own + transferred_in


def deferrable(channel: str) -> bool:
    """A channel whose service level is counted in hours can be worked when calls allow."""
    return DEFAULT_SL_THRESHOLD_S[channel] >= 3600


def offered_load(
    config: CentreConfig, profile: IntradayProfile, volume: float, group: int
) -> list[float]:
    """The team's forecast load in Erlangs, per half hour of a day of `volume` contacts."""
    team = config.groups[group]
    slots = profile.open_ms // SLOT_MS
    slot_s = SLOT_MS / 1000
    loads = []
    for s in range(slots):
        share_now = profile.share(s * SLOT_MS, (s + 1) * SLOT_MS)
        load = 0.0
        for queue in team.queues:
            for channel in team.channels:
                share = share_now if not deferrable(channel) else 1 / slots
                rate = (
                    volume
                    * segment_share(config, queue)
                    * config.channels[channel].share
                    * share
                    / slot_s
                )
                load += rate * mean_handle_s(config, queue, channel)
        loads.append(load)
    return loads


def required_agents(config: CentreConfig, loads: list[float]) -> list[float]:
    """Agents the planner wants working (not on a break) in each half hour, with room for
    the expected absences.

    The safety margin is beta times the square root of the load; beta falls from
    `safety_beta` at the day's mean load to `peak_beta` at its highest. The plan aims at
    the day's service level, and an agent added for the peak costs a whole shift, so the
    peak is staffed lean. In the square-root regime the chance of waiting depends on beta
    alone, so the peak's dip is about the same for a small centre and a large one.
    """
    busy = [x for x in loads if x > 0]
    mean = sum(busy) / len(busy) if busy else 0.0
    top = max(busy, default=0.0)
    need = []
    for load in loads:
        if load <= 0:
            need.append(0.0)
            continue
        peakness = min(max((load - mean) / (top - mean), 0.0), 1.0) if top > mean else 0.0
        beta = config.safety_beta + (config.peak_beta - config.safety_beta) * peakness
        working = max(load + beta * math.sqrt(load), 0.0)
        need.append(working / (1 - config.absence_share))
    return need


class PlannedShift(NamedTuple):
    start: int  # slot
    length: int  # slots
    stagger: int  # -1, 0, 1: breaks early, on time, late


def working_share(config: CentreConfig, shift: PlannedShift, slots: int) -> list[float]:
    """How much of each half hour a shift is on the floor (breaks taken off)."""
    share = [0.0] * slots
    for i in range(shift.start, min(shift.start + shift.length, slots)):
        share[i] = 1.0
    for b_start, b_len in planned_breaks(config, shift):
        b_end = b_start + b_len
        for i in range(b_start // SLOT_MS, min((b_end - 1) // SLOT_MS + 1, slots)):
            overlap = min(b_end, (i + 1) * SLOT_MS) - max(b_start, i * SLOT_MS)
            share[i] -= overlap / SLOT_MS
    return share


def planned_breaks(config: CentreConfig, shift: PlannedShift) -> list[tuple[int, int]]:
    """(start, duration) in ms from opening of the breaks of a shift."""
    start_ms = shift.start * SLOT_MS
    return [
        (
            start_ms + round((b.after_h + shift.stagger * b.stagger_h) * 3_600_000),
            round(b.minutes * 60_000),
        )
        for b in config.breaks
        if (b.after_h + 1) * 3_600_000 <= shift.length * SLOT_MS
    ]


def cover(config: CentreConfig, need: list[float]) -> list[PlannedShift]:
    """Shifts covering `need`: greedily from the morning on, then trimmed.

    At the first half hour short by more than `under_cover_share` of its need, the planner
    adds the shift, of the lengths allowed, that fills most of the gap ahead for the least
    idle time (`waste_weight`). Breaks are staggered in turn across the shifts added.
    """
    slots = len(need)
    covered = [0.0] * slots
    shifts: list[PlannedShift] = []
    lengths = sorted({h * 2 for h in config.shift_hours}, reverse=True)
    for s, wanted in enumerate(need):
        while wanted - covered[s] > config.under_cover_share * wanted:
            best: tuple[float, PlannedShift, list[float]] | None = None
            for length in lengths:
                shift = PlannedShift(min(s, slots - length), length, len(shifts) % 3 - 1)
                share = working_share(config, shift, slots)
                gap = sum(min(x, max(need[i] - covered[i], 0.0)) for i, x in enumerate(share) if x)
                score = gap - config.waste_weight * (sum(share) - gap)
                if best is None or score > best[0]:
                    best = (score, shift, share)
            assert best is not None
            _, shift, share = best
            for i, x in enumerate(share):
                covered[i] += x
            shifts.append(shift)
    return _trim(config, need, shifts)


def _trim(
    config: CentreConfig, need: list[float], shifts: list[PlannedShift]
) -> list[PlannedShift]:
    """Shorten or drop shifts the cover does not need.

    Working from the morning, the greedy pass cannot see that the evening's shifts will
    cover the afternoon too, so morning shifts run long into an over-staffed afternoon.
    A shift is cut to a shorter length (keeping its start or its end), or dropped, when
    every half hour stays within `under_cover_share` of its need, latest shifts first.
    """
    slots = len(need)
    floor = [w * (1 - config.under_cover_share) - 1e-9 for w in need]
    shares = [working_share(config, shift, slots) for shift in shifts]
    covered = [sum(column) for column in zip(*shares, strict=True)] if shares else [0.0] * slots
    kept: list[PlannedShift | None] = list(shifts)
    lengths = sorted({h * 2 for h in config.shift_hours})
    changed = True
    while changed:
        changed = False
        for r in reversed(range(len(kept))):
            shift = kept[r]
            if shift is None:
                continue
            options: list[PlannedShift | None] = [None]
            for length in lengths:
                if length < shift.length:
                    options.append(shift._replace(length=length))
                    end_aligned = shift.start + shift.length - length
                    options.append(PlannedShift(end_aligned, length, shift.stagger))
            for option in options:
                share = [0.0] * slots if option is None else working_share(config, option, slots)
                old = shares[r]
                if all(covered[i] - old[i] + share[i] >= floor[i] for i in range(slots)):
                    for i in range(slots):
                        covered[i] += share[i] - old[i]
                    kept[r] = option
                    shares[r] = share
                    changed = True
                    break
    return [shift for shift in kept if shift is not None]


class StaffingPlan:
    """The same shift pattern every day (the forecast is the same); who shows up varies."""

    def __init__(self, config: CentreConfig, profile: IntradayProfile, volume: float) -> None:
        self._config = config
        self.shifts: list[list[PlannedShift]]
        if config.fixed_agents is not None:
            whole_day = PlannedShift(0, profile.open_ms // SLOT_MS, 0)
            self.shifts = [[whole_day] * agents for agents in config.fixed_agents]
            return
        self.shifts = [
            cover(config, required_agents(config, offered_load(config, profile, volume, g)))
            for g in range(len(config.groups))
        ]

    def roster_sizes(self) -> list[int]:
        return [len(s) for s in self.shifts]

    def day(self, rng: random.Random) -> list[Shift]:
        """The shifts actually worked in one day, offsets in ms from opening, by start."""
        config = self._config
        jitter_lo, jitter_hi = config.login_jitter_min
        late_ms = config.break_jitter_min * 60_000
        shifts = []
        for g, team in enumerate(self.shifts):
            for rank, planned in enumerate(team):
                if rng.random() < config.absence_share:
                    continue
                planned_ms = planned.start * SLOT_MS
                start = max(planned_ms + round(rng.uniform(jitter_lo, jitter_hi) * 60_000), 0)
                breaks = tuple(
                    (b_start + round(rng.uniform(-late_ms, late_ms)), b_len)
                    for b_start, b_len in planned_breaks(config, planned)
                )
                end = planned_ms + planned.length * SLOT_MS
                shifts.append(Shift(g, rank, start, end, breaks))
        shifts.sort(key=lambda s: (s.start_ms, s.group, s.rank))
        return shifts
