"""Erlang A against the project's own simulator run as the model assumes it.

The stationary centre (pipeline/simulator/stationary.py: fixed agents, Poisson arrivals,
exponential handle times and patience) is run for independent days at an under-, a
critically and an over-loaded level; the KPI core (`ccpipe kpis`' machinery) measures each
day's service level and abandon rate as the contract defines them, with the contract's voice
thresholds (20 s, short abandons under 5 s); the Erlang A prediction must lie in the 99 %
confidence interval of the days' mean (Student's t over independent replications).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
import pytest

from pipeline.config import load_settings
from pipeline.core.clock import parse_rfc3339
from pipeline.core.erlang import Traffic, performance
from pipeline.core.intervals import COUNT_FIELDS, kpi_values
from pipeline.report import report_from_lines
from pipeline.simulator.emit import DEFAULT_START_US
from pipeline.simulator.stationary import CHANNEL, QUEUE, stationary_events

AGENTS = 10
AHT_S = 180.0
PATIENCE_S = 180.0
HOURS = 8
DAYS = 10  # independent replications, one seed each
# Left out of each day: the first hour (the centre opens empty) and the last half hour
# (agents log off at closing time, so late offers wait differently).
WARM_UP_US = 3600 * 1_000_000
COOL_DOWN_US = 1800 * 1_000_000
# Student's t, 99.5th percentile, 9 degrees of freedom: a two-sided 99 % interval over 10 days.
T_99 = 3.2498
SETTINGS = load_settings(env={})
THRESHOLDS = SETTINGS.queue("default", QUEUE, CHANNEL)
THRESHOLD_S = THRESHOLDS.sl_threshold_us / 1_000_000
SHORT_ABANDON_S = THRESHOLDS.short_abandon_us / 1_000_000


@dataclass(frozen=True)
class Interval:
    """A 99 % confidence interval of a mean over independent days."""

    mean: float
    half_width: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Interval:
        assert len(samples) == DAYS
        return cls(statistics.fmean(samples), T_99 * statistics.stdev(samples) / math.sqrt(DAYS))

    def __contains__(self, value: object) -> bool:
        assert isinstance(value, float)
        return abs(value - self.mean) <= self.half_width


def _day_kpis(rate_per_hour: float, seed: int) -> dict[str, float | None]:
    """Service level, abandon rate and AHT of one simulated day's stationary part, from the
    KPI core's interval counts summed over the intervals kept."""
    events = stationary_events(AGENTS, rate_per_hour, AHT_S, PATIENCE_S, HOURS, seed)
    rows = report_from_lines((orjson.dumps(e) for e in events), SETTINGS)
    first = DEFAULT_START_US + WARM_UP_US
    last = DEFAULT_START_US + HOURS * 3600 * 1_000_000 - COOL_DOWN_US
    totals = dict.fromkeys(COUNT_FIELDS, 0)
    for row in rows:
        assert (row["queue"], row["channel"]) == (QUEUE, CHANNEL)
        if first <= parse_rfc3339(row["interval_start"]) < last:
            for field in ("offered", "answered", "abandoned", "short_abandoned"):
                totals[field] += row[field]
            totals["answered_within_sl"] += row["answered_within_sl"]
            totals["handled"] += row["handled"]
            totals["handle_sum_us"] += round(row["aht_s"] * row["handled"] * 1_000_000)
    return kpi_values([totals[field] for field in COUNT_FIELDS])


def _days(rate_per_hour: float) -> dict[str, Interval]:
    days = [_day_kpis(rate_per_hour, seed) for seed in range(1, DAYS + 1)]
    measured = {}
    for name in ("service_level", "abandon_rate", "aht_s"):
        values = [day[name] for day in days]
        assert all(v is not None for v in values)
        measured[name] = Interval.of([float(v) for v in values if v is not None])
    return measured


@pytest.mark.parametrize(
    "load",
    [
        pytest.param(8.0, id="under-loaded (a = 8 on 10 agents)"),
        pytest.param(10.0, id="critically loaded (a = 10)"),
        pytest.param(12.5, id="over-loaded (a = 12.5)"),
    ],
)
def test_erlang_a_predicts_what_the_simulated_centre_measures(load: float) -> None:
    rate_per_hour = load / AHT_S * 3600
    measured = _days(rate_per_hour)
    predicted = performance(
        Traffic(rate_per_hour / 3600, AHT_S, PATIENCE_S), AGENTS, THRESHOLD_S, SHORT_ABANDON_S
    )
    # The simulation is the model asked for: its handle times have the mean given.
    assert AHT_S in measured["aht_s"], measured["aht_s"]
    assert predicted.service_level in measured["service_level"], (predicted, measured)
    assert predicted.abandon_rate in measured["abandon_rate"], (predicted, measured)
    # The intervals are narrow enough to reject the model with a patience a third as long or
    # three times as long (at over-load the abandon rate hardly depends on the patience, at
    # under-load the service level less: one of the two tells them apart).
    for patience in (PATIENCE_S / 3, PATIENCE_S * 3):
        other = performance(
            Traffic(rate_per_hour / 3600, AHT_S, patience), AGENTS, THRESHOLD_S, SHORT_ABANDON_S
        )
        assert (
            other.service_level not in measured["service_level"]
            or other.abandon_rate not in measured["abandon_rate"]
        ), (patience, other, measured)


def test_the_stationary_centre_is_the_queue_the_model_describes() -> None:
    events = list(stationary_events(AGENTS, 200, AHT_S, PATIENCE_S, 2, seed=3))
    kinds = {e["type"] for e in events}
    assert kinds == {
        "agent.state",
        "contact.offered",
        "contact.answered",
        "contact.abandoned",
        "contact.ended",
        "contact.wrapup_ended",
    }
    assert sum(e["type"] == "contact.offered" for e in events) == 400
    # The same agents, on the floor from the opening to the close, never away.
    states = [e for e in events if e["type"] == "agent.state"]
    assert len({e["agent_id"] for e in states}) == AGENTS
    opening = [e["agent_id"] for e in states if parse_rfc3339(e["ts"]) == DEFAULT_START_US]
    assert len(opening) == AGENTS
    assert {e["state"] for e in states} == {"available", "busy", "acw", "offline"}
    offline = [parse_rfc3339(e["ts"]) for e in states if e["state"] == "offline"]
    assert len(offline) == AGENTS and min(offline) >= DEFAULT_START_US + 2 * 3600 * 1_000_000
    # Handle time is talk alone: answered as the agent takes it (no ring time), no hold, no
    # wrap-up.
    busy = {(e["agent_id"], e["ts"]) for e in states if e["state"] == "busy"}
    answered = [e for e in events if e["type"] == "contact.answered"]
    assert answered and all((e["agent_id"], e["ts"]) in busy for e in answered)
    assert all(e["hold_s"] == 0 for e in events if e["type"] == "contact.ended")
    assert all(e["acw_s"] == 0 for e in events if e["type"] == "contact.wrapup_ended")
