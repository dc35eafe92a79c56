"""The three service-level variants on hand-computed fixtures, and how they roll up."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pipeline.config import Settings, load_settings
from pipeline.core.catalogue import (
    DEFAULT_HEADLINE,
    KPI,
    SERVICE_LEVEL,
    SERVICE_LEVELS,
    ServiceLevelVariant,
)
from pipeline.core.events import AnyEvent, decode_message
from pipeline.core.intervals import kpi_values, merge_counts
from pipeline.core.kpi_state import KpiState
from tests.core.builders import abandoned, answered, ev, lines, offered, only_row, report

VARIANTS = ("service_level", "service_level_connect", "service_level_answered")


def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return load_settings(path, env={})


def _decoded(events: list[dict[str, Any]]) -> list[AnyEvent]:
    decoded: list[AnyEvent] = []
    for line in lines(events):
        found, rejections = decode_message(line)
        assert not rejections
        decoded.extend(found)
    return decoded


def _one_of_each() -> list[dict[str, Any]]:
    """Voice, 20 s threshold, 5 s short-abandon limit: ten contacts, one of each kind."""
    return [
        offered(0, "at"),  # answered at exactly 20 s: within
        answered(20, "at"),
        offered(1, "over"),  # answered 1 us after 20 s: not within
        answered(21.000001, "over"),
        offered(2, "fast"),  # answered in 3 s: within
        answered(5, "fast"),
        offered(3, "slow"),  # answered in 40 s
        answered(43, "slow"),
        offered(4, "short"),  # abandoned in 2 s: a short abandon, within 20 s
        abandoned(6, "short"),
        offered(5, "gave-up"),  # abandoned in 10 s: a real abandon, within 20 s
        abandoned(15, "gave-up"),
        offered(6, "edge"),  # abandoned at exactly 20 s: within
        abandoned(26, "edge"),
        offered(7, "late"),  # abandoned after 60 s
        abandoned(67, "late"),
        offered(8, "overflow"),  # transferred before any answer or abandon
        ev("contact.transferred", 30, contact_id="overflow", queue="q", to_queue="q2"),
        offered(9, "waiting"),  # still in the queue
    ]


def test_each_variant_by_hand() -> None:
    row = only_row(_one_of_each())
    assert (row["offered"], row["answered"], row["abandoned"], row["short_abandoned"]) == (
        10,
        4,
        3,
        1,
    )
    assert row["answered_within_sl"] == 2  # at, fast
    assert row["abandoned_within_sl"] == 3  # short, gave-up, edge
    # The contract's: answered within / (answered + abandoned after the short-abandon limit).
    assert row["service_level"] == 2 / (4 + 3)
    # Connect's: left the queue within the threshold, answered or abandoned / queued.
    assert row["service_level_connect"] == (2 + 3) / 10
    # Answered only: answered within / answered.
    assert row["service_level_answered"] == 2 / 4


def test_each_variant_moves_with_the_threshold_and_only_the_contract_s_with_short_abandons(
    tmp_path: Path,
) -> None:
    events = _one_of_each()
    at_30 = _settings(tmp_path, "queues:\n  q: {sl_threshold_s: 30}\n")
    row = only_row(events, at_30)
    assert row["answered_within_sl"] == 3  # at, over, fast
    assert row["abandoned_within_sl"] == 3  # "late" waited 60 s
    assert row["service_level"] == 3 / 7
    assert row["service_level_connect"] == 6 / 10
    assert row["service_level_answered"] == 3 / 4
    no_short = _settings(tmp_path, "queues:\n  q: {short_abandon_s: 0}\n")
    row = only_row(events, no_short)
    assert (row["abandoned"], row["short_abandoned"]) == (4, 0)
    assert row["service_level"] == 2 / 8  # the short abandon now counts against it
    assert row["service_level_connect"] == 5 / 10  # as before: Connect has no short abandons
    assert row["service_level_answered"] == 2 / 4


def test_each_variant_is_null_when_its_divisor_is_zero() -> None:
    # Only a short abandon: the contract's and answered-only have no divisor, Connect's has.
    row = only_row([offered(0, "c"), abandoned(1, "c")])
    assert row["service_level"] is None
    assert row["service_level_answered"] is None
    assert row["service_level_connect"] == 1.0
    # Only a contact waiting: Connect's is 0 of 1.
    row = only_row([offered(0, "w")])
    assert row["service_level_connect"] == 0.0


def test_rolled_up_variants_are_sums_of_numerators_over_sums_of_denominators() -> None:
    """Two queues and two intervals: the whole is the ratio of the summed counts, not the
    mean of the four ratios."""
    events = [
        *(e for i in range(3) for e in (offered(i, f"a{i}"), answered(i + 10, f"a{i}"))),
        offered(4, "b0", queue="r"),
        abandoned(40, "b0", queue="r"),
        offered(900, "c0"),
        answered(990, "c0"),
        offered(901, "c1"),
    ]
    state = KpiState(load_settings(env={}).queue)
    state.apply(_decoded(events))
    state.flush()
    keys = sorted(state.segments.intervals.keys())
    assert len(keys) == 3
    values = kpi_values(merge_counts(state.interval_counts(key) for key in keys))
    # Answered within 20 s: a0-a2; c0 waited 90 s. b0 abandoned after 36 s. c1 waits.
    assert values["service_level"] == 3 / (4 + 1)
    assert values["service_level_connect"] == 3 / 6
    assert values["service_level_answered"] == 3 / 4
    rows = report(events)
    ratios = [row["service_level_answered"] for row in rows if row["service_level_answered"]]
    assert sum(ratios) / len(ratios) != values["service_level_answered"]  # not a mean of rates


def test_the_variants_are_named_once_with_a_label_and_a_formula() -> None:
    assert [level.variant for level in SERVICE_LEVELS] == list(get_args(ServiceLevelVariant))
    assert [level.kpi.name for level in SERVICE_LEVELS] == list(VARIANTS)
    assert DEFAULT_HEADLINE in SERVICE_LEVEL
    assert SERVICE_LEVEL["contract"].kpi is KPI["service_level"]
    assert KPI["service_level_connect"].formula == (
        "(answered within threshold + abandoned within threshold) / offered"
    )
    assert KPI["service_level_answered"].formula == "answered within threshold / answered"
    labels = [level.kpi.label for level in SERVICE_LEVELS]
    assert len(set(labels)) == 3 and all(label.startswith("Service level") for label in labels)


def test_the_report_keeps_the_contract_s_columns_first() -> None:
    fields = list(only_row([offered(0, "c")]))
    assert fields[-3:] == ["abandoned_within_sl", "service_level_connect",
                           "service_level_answered"]  # fmt: skip
    assert fields.index("nps") == len(fields) - 4
