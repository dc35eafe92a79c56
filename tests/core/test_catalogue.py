"""The catalogue (pipeline/core/catalogue.py) is whole and consistent, and the core computes
every KPI exactly as it defines it."""

from __future__ import annotations

import random
import re
from fractions import Fraction

import pytest

from pipeline.core import catalogue as c
from pipeline.core.intervals import (
    COUNT_FIELDS,
    KEY_FIELDS,
    MAX_WAIT_INDEX,
    NO_WAIT,
    REPORT_FIELDS,
    IntervalKey,
    kpi_values,
    report_row,
    zero_counts,
)
from pipeline.core.live import LIVE_KPI_FIELDS, WINDOW_NAMES
from pipeline.targets import GOAL_KPIS, QUEUE_TARGET_FIELDS, Alerting

RULE = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")


def test_counts_are_the_interval_counts_in_order_and_every_term_is_one() -> None:
    assert tuple(count.field for count in c.COUNTS) == COUNT_FIELDS
    for kpi in c.KPIS:
        assert kpi.numerator and all(term in COUNT_FIELDS for term in kpi.terms), kpi.name


def test_the_catalogue_covers_every_kpi_of_the_report() -> None:
    values = [f for f in REPORT_FIELDS if f not in KEY_FIELDS and f not in COUNT_FIELDS]
    assert [kpi.name for kpi in c.KPIS] == values
    assert tuple(report_row(IntervalKey("t", "q", "voice", 0), zero_counts())) == REPORT_FIELDS


def _expected(kpi: c.Kpi, counts: list[int]) -> float | None:
    """The KPI as exact arithmetic, rounded once: what ONE int/int division gives."""
    by = dict(zip(COUNT_FIELDS, counts, strict=True))

    def total(terms: tuple[str, ...]) -> int:
        return sum(-by[t[1:]] if t.startswith("-") else by[t] for t in terms)

    top = kpi.scale * total(kpi.numerator)
    if not kpi.denominator:
        return None if top < 0 else float(Fraction(top, kpi.divisor))
    bottom = total(kpi.denominator) * kpi.divisor
    return None if bottom == 0 else float(Fraction(top, bottom))


def test_each_kpi_is_its_catalogue_ratio_rounded_once() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        counts = [rng.choice((0, 0, 1, 3, 7, 10**6 + 3, 2**55 + 1)) for _ in COUNT_FIELDS]
        if rng.random() < 0.3:
            counts[MAX_WAIT_INDEX] = NO_WAIT
        values = kpi_values(counts)
        for kpi in c.KPIS:
            assert values[kpi.name] == _expected(kpi, counts), (kpi.name, counts)


def test_a_kpi_is_null_exactly_when_its_divisor_is_zero() -> None:
    counts = zero_counts()
    counts[COUNT_FIELDS.index("offered")] = 4
    counts[COUNT_FIELDS.index("short_abandoned")] = 4
    values = kpi_values(counts)
    assert values["abandon_rate"] is None  # offered - short_abandoned = 0
    assert values["response_rate"] == 0.0
    assert values["max_wait_s"] is None  # no outcome yet
    counts[MAX_WAIT_INDEX] = 0
    assert kpi_values(counts)["max_wait_s"] == 0.0


def test_live_figures_leave_fcr_out_and_need_only_live_counts() -> None:
    assert not c.KPI["fcr_rate"].live
    assert not any(name.startswith("fcr") for name in LIVE_KPI_FIELDS)
    for kpi in c.KPIS:
        if kpi.live:
            assert kpi.name in LIVE_KPI_FIELDS
            assert all(c.COUNT[term].live for term in kpi.terms), kpi.name
    # The contract's live (wallboard) figures.
    assert [kpi.name for kpi in c.WALLBOARD_KPIS] == ["service_level", "asa_s", "abandon_rate",
                                                      "aht_s"]  # fmt: skip


def test_formula_text_for_tooltips() -> None:
    assert c.KPI["service_level"].formula == "answered within threshold / (answered + abandoned)"
    assert c.KPI["abandon_rate"].formula == "abandoned / (offered - short-abandoned)"
    assert c.KPI["nps"].formula == "100 * (promoters - detractors) / NPS responses"


def test_metric_names_follow_prometheus_conventions_and_are_unique() -> None:
    metrics = (*c.WORKER_METRICS, *c.SINK_METRICS)
    names = [m.name for m in metrics]
    assert len(names) == len(set(names))
    for m in metrics:
        assert m.name.startswith("ccpipe_"), m
        assert m.name.endswith("_total") == (m.type == "counter"), m
        assert m.help.endswith("."), m
    # Sums of microseconds are exported in seconds, and named so.
    for field, metric in c.CONTACT_COUNTERS.items():
        assert field.endswith("_us") == ("_seconds" in metric.name), metric
        assert c.COUNT[field].scale == (1e-6 if field.endswith("_us") else 1)
    assert set(c.WINDOW_GAUGES) == {t for kpi in c.WALLBOARD_KPIS for t in kpi.terms}


def test_rule_names_are_level_metric_operations() -> None:
    names = [
        *(c.kpi_rule(kpi, "5m", level) for kpi in c.RECORDED_KPIS
          for level in (c.TENANT_QUEUE, c.TENANT_QUEUE_CHANNEL)),
        *(c.window_kpi_rule(kpi) for kpi in c.WALLBOARD_KPIS),
        *(c.rate_rule(field, "1h") for field in c.CONTACT_COUNTERS),
        *(c.target_rule(field) for field in c.TARGET_UNITS),
        c.QUEUE_WAITING_RULE, c.QUEUE_LONGEST_WAIT_RULE, c.AGENTS_RULE, c.WINDOW_OFFERED_RULE,
        c.EVENTS_RATE_RULE, c.DEAD_LETTERS_RATE_RULE, c.DEAD_LETTERS_INCREASE_RULE,
        c.DEAD_LETTERS_RATIO_RULE, c.LAG_RULE, c.LATENCY_P95_RULE, c.SINK_WRITING_RULE,
    ]  # fmt: skip
    assert len(names) == len(set(names))
    for name in names:
        assert RULE.match(name), name
    assert c.kpi_rule(c.KPI["asa_s"], "15m") == "tenant_queue:ccpipe_answer_wait_seconds:mean15m"
    assert c.window_kpi_rule(c.KPI["abandon_rate"]) == "tenant_queue:ccpipe_window_abandon:ratio"
    with pytest.raises(AssertionError):
        c.kpi_rule(c.KPI["max_wait_s"], "5m")  # a largest value has no counter to rate


def test_checks_judge_each_figure_in_its_kpi_s_direction() -> None:
    assert set(c.WINDOW_LABELS) == set(WINDOW_NAMES)
    alerting = Alerting()
    for check in c.CHECKS:
        assert check.target in c.TARGET_UNITS, check
        if check.kpi is not None:
            kpi = c.KPI[check.kpi]
            assert check.higher_is_better == kpi.higher_is_better, check
            assert check.window in WINDOW_NAMES and kpi.live, check
        if check.alert:
            assert isinstance(getattr(alerting, check.hold), int), check
    assert len({check.alert for check in c.ALERTED_CHECKS}) == len(c.ALERTED_CHECKS)
    assert 0 < c.NEAR_FLOOR_POINTS < 1 and 0 < c.NEAR_LIMIT_SHARE < 1


def test_the_targets_agree_with_the_catalogue() -> None:
    """pipeline/targets.py names the KPIs a goal may have and the fields a queue target sets:
    the same KPIs, directions and fields as here."""
    assert {
        kpi.name: "up" if kpi.higher_is_better else "down" for kpi in c.RECORDED_KPIS
    } == GOAL_KPIS
    assert set(QUEUE_TARGET_FIELDS) == set(c.TARGET_UNITS)
