"""The wallboard's state (pipeline/wallboard/board.py): judging, the day's series, alerts."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest

from pipeline.config import QueueOverrides, Settings, TenantSettings
from pipeline.core.clock import INTERVAL_US, US_PER_S, parse_rfc3339
from pipeline.core.intervals import COUNT_FIELDS, IntervalKey, report_row, zero_counts
from pipeline.core.live import WINDOW_NAMES, GroupPart, MergedBoard, QueueFigures, WindowFigures
from pipeline.targets import Targets, parse_targets
from pipeline.wallboard.board import (
    CHECKS,
    AlertTracker,
    day_series,
    judge,
    tile_figures,
    wallboard,
)

NOW = parse_rfc3339("2026-11-23T10:07:00Z")
SL_15M = next(c for c in CHECKS if c.figure == "service_level_15m")
ASA = next(c for c in CHECKS if c.figure == "asa_s")
WAIT = next(c for c in CHECKS if c.figure == "longest_wait_s")
INDEX = {name: i for i, name in enumerate(COUNT_FIELDS)}


def counts(**values: int) -> list[int]:
    out = zero_counts()
    for name, value in values.items():
        out[INDEX[name]] = value
    return out


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.79, "missed"), (0.80, "near"), (0.849, "near"), (0.85, "met"), (None, "none")],
)
def test_a_floor_is_missed_below_its_target_and_near_just_above(
    value: float | None, expected: str
) -> None:
    assert judge(value, 0.80, SL_15M, volume_ok=True) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(31.0, "missed"), (30.0, "near"), (24.0, "near"), (23.9, "met")]
)
def test_a_limit_is_missed_above_it_and_near_from_80_percent(value: float, expected: str) -> None:
    assert judge(value, 30.0, ASA, volume_ok=True) == expected


def test_rates_are_not_judged_on_too_few_contacts_but_waits_are() -> None:
    assert judge(0.10, 0.80, SL_15M, volume_ok=False) == "low"
    assert judge(500.0, 120.0, WAIT, volume_ok=False) == "missed"
    assert judge(0.10, None, SL_15M, volume_ok=True) == "none"


def merged(*items: tuple[str, str, str, int, str, list[int]]) -> MergedBoard:
    """Quarter-hour counts of groups, as sources publish them (tenant, queue, channel, start,
    source, counts)."""
    quarters: dict[str, dict[tuple[str, str, str], list[tuple[int, list[int]]]]] = {}
    for tenant, queue, channel, start, source, values in items:
        quarters.setdefault(source, {}).setdefault((tenant, queue, channel), []).append(
            (start, values)
        )
    board = MergedBoard()
    for source, groups in quarters.items():
        board.replace(source, [GroupPart(*g, [], 0, sorted(q)) for g, q in groups.items()])
    return board


def test_the_day_series_merges_channels_and_sources_of_today_only() -> None:
    today = parse_rfc3339("2026-11-23T09:00:00Z")
    yesterday = parse_rfc3339("2026-11-22T23:45:00Z")
    later = NOW - NOW % INTERVAL_US + INTERVAL_US
    board = merged(
        ("default", "q", "voice", today, "seg:0", counts(offered=5, answered=5,
                                                          answered_within_sl=4)),
        ("default", "q", "voice", today, "seg:1", counts(offered=3, answered=3,
                                                          answered_within_sl=2)),
        ("default", "q", "chat", today, "seg:1", counts(offered=2, answered=1, abandoned=1)),
        ("default", "q", "voice", today + INTERVAL_US, "seg:0", counts(offered=2)),
        ("default", "q", "voice", yesterday, "seg:0", counts(offered=5, answered=5)),
        ("default", "q", "voice", later, "seg:0", counts(offered=5, answered=5)),
    )  # fmt: skip
    series = day_series(board.day_series(NOW))
    expected = report_row(
        IntervalKey("default", "q", "", today),
        counts(offered=10, answered=9, abandoned=1, answered_within_sl=6),
    )["service_level"]
    assert series == {("default", "q"): [(today, expected), (today + INTERVAL_US, None)]}
    assert expected == 0.6


def test_today_is_the_tenants_local_day() -> None:
    zones = Settings(tenants={"nyc": TenantSettings(timezone="America/New_York")}).tenant_timezone
    # 03:00 UTC on the 23rd is still the 22nd in New York: its day began at 05:00 UTC on the 22nd.
    start = parse_rfc3339("2026-11-22T06:00:00Z")
    sl = counts(offered=1, answered=1, answered_within_sl=1)
    board = merged(("nyc", "q", "voice", start, "seg:0", sl))
    now = parse_rfc3339("2026-11-23T03:00:00Z")
    assert day_series(board.day_series(now, zones)) == {("nyc", "q"): [(start, 1.0)]}
    assert day_series(board.day_series(parse_rfc3339("2026-11-23T06:00:00Z"), zones)) == {}


def test_an_alert_fires_once_its_breach_has_held_long_enough_in_event_time() -> None:
    tracker = AlertTracker()
    key = ("default", "q", "CcpipeServiceLevelBelowTarget")
    tracker.update(NOW, [key])
    tracker.update(NOW + 60 * US_PER_S, [key])
    assert tracker.since == {key: NOW}
    tracker.update(NOW + 120 * US_PER_S, [])
    assert tracker.since == {}


def tile(
    queue: str, sl_15m: float | None, volume: int, longest_wait_s: float | None = None
) -> QueueFigures:
    windows = {}
    for name in WINDOW_NAMES:
        values = counts(answered=volume)
        windows[name] = WindowFigures(
            0, tuple(values), {"service_level": sl_15m, "asa_s": 12.0, "abandon_rate": 0.01}
        )
    return QueueFigures(
        tenant="default",
        queue=queue,
        channel=None,
        in_queue=3,
        oldest_offer_us=None,
        longest_wait_s=longest_wait_s,
        agents={"available": 4, "busy": 2},
        windows=windows,
    )


def state(tracker: AlertTracker, now_us: int, targets: Targets) -> dict[str, Any]:
    tiles = [tile("sales", 0.5, 40), tile("support", 0.95, 40), tile("billing", 0.1, 3)]
    settings = Settings()
    return wallboard(tiles, {}, now_us, targets, tracker, settings.queue, settings.tenant_timezone)


def test_the_page_state_judges_each_queue_against_its_own_targets() -> None:
    targets = parse_targets({"queues": {"support": {"service_level": 0.98}}})
    out = state(AlertTracker(), NOW, targets)
    by_queue = {q["queue"]: q for q in out["queues"]}
    assert by_queue["sales"]["status"]["service_level_15m"] == "missed"
    assert by_queue["sales"]["overall"] == "missed"
    assert by_queue["support"]["status"]["service_level_15m"] == "missed"  # 0.95 < its 0.98
    assert by_queue["support"]["targets"]["service_level"] == 0.98
    assert by_queue["billing"]["status"]["service_level_15m"] == "low"  # 3 < min_volume 20
    assert by_queue["sales"]["figures"] == tile_figures(tile("sales", 0.5, 40))
    assert by_queue["sales"]["figures"]["longest_wait_s"] == 0.0  # as the gauge shows it


def test_breaches_become_firing_alerts_after_breach_for() -> None:
    targets = parse_targets({"alerting": {"breach_for": "10m"}})
    tracker = AlertTracker()
    first = state(tracker, NOW, targets)
    assert [(a["queue"], a["firing"]) for a in first["alerts"]] == [("sales", False)]
    later = state(tracker, NOW + 600 * US_PER_S, targets)
    [alert] = later["alerts"]
    assert alert["firing"] and alert["held_s"] == 600 and alert["for_s"] == 600
    assert alert["name"] == "CcpipeServiceLevelBelowTarget"
    assert alert["value"] == 0.5 and alert["target"] == 0.8


def test_the_state_tells_the_page_how_each_figure_is_shown_and_judged() -> None:
    """wallboard.js knows no figure by name: labels, formats and judging come in the JSON,
    from the catalogue's checks."""
    out = state(AlertTracker(), NOW, parse_targets({}))
    specs = {spec["key"]: spec for spec in out["figures"]}
    assert list(specs) == list(out["queues"][0]["figures"])
    assert {key for key, spec in specs.items() if spec["target"]} == {c.figure for c in CHECKS}
    assert specs["service_level_15m"] | {"tooltip": ""} == {
        "key": "service_level_15m",
        "label": "SL 15 min",
        "format": "percent",
        "big": False,
        "tooltip": "",
        "target": "service_level",
        "goal": "floor",
    }
    assert (specs["asa_s"]["format"], specs["asa_s"]["goal"]) == ("duration", "limit")
    assert specs["abandon_rate"]["goal"] == "limit"
    assert specs["aht_s"]["target"] is None and specs["in_queue"]["big"]
    assert "answered within threshold" in specs["service_level_today"]["tooltip"]
    assert out["series"]["key"] == "service_level" and out["series"]["goal"] == "floor"


def test_the_service_level_hover_shows_every_variant_over_the_figure_s_window() -> None:
    """Ten contacts of tests/core/test_service_levels.py, one of each kind, in the 15 minutes;
    none today: the hover of each service-level figure names the three variants and values."""
    rolling = counts(offered=10, answered=4, abandoned=3, short_abandoned=1,
                     answered_within_sl=2, abandoned_within_sl=3)  # fmt: skip
    row = report_row(IntervalKey("", "", "", 0), rolling)
    kpis = {name: row[name] for name in ("service_level", "service_level_connect",
                                         "service_level_answered")}  # fmt: skip
    windows = {name: WindowFigures(0, tuple(zero_counts()), {}) for name in WINDOW_NAMES}
    windows["15m"] = WindowFigures(0, tuple(rolling), kpis)
    queue = dataclasses.replace(tile("sales", None, 0), windows=windows)
    settings = Settings()
    out = wallboard([queue], {}, NOW, parse_targets({}), AlertTracker(), settings.queue,
                    settings.tenant_timezone)  # fmt: skip
    hover = out["queues"][0]["hover"]
    assert hover["service_level_15m"].splitlines() == [
        "Service level, 15 min:",
        "SL (headline) 28.6%: answered within threshold / (answered + abandoned)",
        "SL Connect 50.0%: (answered within threshold + abandoned within threshold) / offered",
        "SL answered 50.0%: answered within threshold / answered",
    ]
    assert hover["service_level_today"].splitlines()[1:] == [
        "SL (headline) n/a: answered within threshold / (answered + abandoned)",
        "SL Connect n/a: (answered within threshold + abandoned within threshold) / offered",
        "SL answered n/a: answered within threshold / answered",
    ]


def test_the_queue_s_headline_variant_comes_first_in_the_hover_and_in_the_state() -> None:
    settings = msgspec.structs.replace(
        Settings(), queues={"sales": QueueOverrides(headline_service_level="connect")}
    )
    tiles = [tile("sales", 0.5, 40), tile("support", 0.9, 40)]
    out = wallboard(tiles, {}, NOW, parse_targets({}), AlertTracker(), settings.queue,
                    settings.tenant_timezone, headline=settings.headline_service_level)  # fmt: skip
    by_queue = {q["queue"]: q for q in out["queues"]}
    assert by_queue["sales"]["headline_service_level"] == "connect"
    assert by_queue["support"]["headline_service_level"] == "contract"
    sales = by_queue["sales"]["hover"]["service_level_15m"].splitlines()
    assert sales[1].startswith("SL Connect (headline) ")
    assert [line.split(" ")[1] for line in sales[2:]] == ["50.0%:", "answered"]
    support = by_queue["support"]["hover"]["service_level_15m"].splitlines()
    assert support[1].startswith("SL (headline) 90.0%: answered within threshold")
