"""Targets in the settings: typed, merged per queue, and a bad one named by file and key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import msgspec
import pytest

from pipeline.config import ConfigError, load_settings
from pipeline.targets import (
    DEFAULT_QUEUE_TARGETS,
    QUEUE_TARGET_FIELDS,
    ChannelTargetOverrides,
    Goal,
    QueueTargetOverrides,
    QueueTargets,
    parse_targets,
)

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ccpipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_deploy_config_reads_and_resolves_per_queue() -> None:
    targets = load_settings(ROOT / "deploy" / "ccpipe.yaml", env={}).targets
    # Tenant's queue over queue over default over built-in.
    assert targets.for_queue("acme", "sales").service_level == 0.90
    assert targets.for_queue("default", "sales").service_level == 0.80
    assert targets.for_queue("acme", "billing").service_level == 0.70
    # A queue entry's own `targets:` (beside its thresholds) counts like the section's.
    assert targets.for_queue("default", "support").asa_s == 45
    assert targets.for_queue("default", "support").abandon_rate == 0.08
    # null switches a check off for one queue only.
    assert targets.for_queue("default", "billing").asa_s is None
    assert targets.for_queue("default", "sales").asa_s == 30
    assert targets.for_queue("acme", "sales").longest_wait_s == 60
    assert targets.alerting.breach_for_s == 600 and targets.alerting.silent_for_s == 900
    assert [g.name for g in targets.goals] == ["support-csat", "fcr-all", "sales-asa"]
    assert targets.tenants() == ["acme"]


def test_no_targets_gives_the_built_in_defaults() -> None:
    targets = load_settings(env={}).targets
    assert targets.for_queue("default", "any") == DEFAULT_QUEUE_TARGETS
    assert targets.goals == ()


def test_a_goal_plan_is_the_straight_line_from_baseline_to_target() -> None:
    goal = Goal("g", "csat", 0.78, 0.88, date(2026, 1, 1), date(2026, 1, 11))
    assert goal.planned(date(2025, 12, 1)) == 0.78
    assert goal.planned(date(2026, 1, 6)) == pytest.approx(0.83)
    assert goal.planned(date(2027, 1, 1)) == 0.88
    assert goal.on_track(0.84, date(2026, 1, 6)) and not goal.on_track(0.82, date(2026, 1, 6))
    falling = Goal("a", "asa_s", 40, 20, date(2026, 1, 1), date(2026, 1, 11))
    assert falling.on_track(29, date(2026, 1, 6)) and not falling.on_track(31, date(2026, 1, 6))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets: {default: {service_level: 80}}", "key `targets.default.service_level`"),
        ("targets: {queues: {sales: {asa_s: -3}}}", "key `targets.queues.sales.asa_s`"),
        ("targets: {queues: {sales: {min_volume: null}}}", "key `targets.queues.sales.min_volume`"),
        ("targets: {queues: {sales: {speed: 3}}}", "unknown key `speed`"),
        (
            "targets: {tenants: {acme: {queues: {sales: {abandon_rate: 2}}}}}",
            "key `targets.tenants.acme.queues.sales.abandon_rate`",
        ),
        ("targets: {alerting: {breach_for: soon}}", "key `targets.alerting.breach_for`"),
        (
            "targets: {goals: [{name: g, kpi: csat, baseline: 0.7, target: 0.8, "
            "start: 2026-05-01, due: 2026-01-01}]}",
            "key `targets.goals.0.due`",
        ),
        (
            "targets: {goals: [{name: g, kpi: happiness, baseline: 0.7, target: 0.8, "
            "start: 2026-01-01, due: 2026-05-01}]}",
            "key `targets.goals.0.kpi`",
        ),
        ("targets: {goals: [{name: g, kpi: csat}]}", "missing `baseline`"),
        (
            "queues: {sales: {targets: {service_level: 0.9}}}\n"
            "targets: {queues: {sales: {asa_s: 20}}}",
            "key `queues.sales.targets`",
        ),
        ("queues: {sales: {targets: {service_level: 1.5}}}", "key `targets.queues.sales"),
    ],
)
def test_a_bad_target_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_tenant_queue_targets_beside_thresholds_are_folded_in(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tenants:\n  acme:\n    queues:\n      sales: {sl_threshold_s: 15, targets: "
        "{service_level: 0.95}}\n",
    )
    settings = load_settings(path, env={})
    assert settings.queue("acme", "sales", "voice").sl_threshold_us == 15_000_000
    targets = settings.targets
    assert targets.for_queue("acme", "sales").service_level == 0.95
    assert targets.for_queue("other", "sales").service_level == 0.80


def test_durations_read_prometheus_spelling() -> None:
    targets = parse_targets({"alerting": {"breach_for": "2h", "lag_for": 45, "silent_for": "90s"}})
    assert targets.alerting.breach_for_s == 7200
    assert targets.alerting.lag_for_s == 45
    assert targets.alerting.silent_for_s == 90


def test_an_override_sets_the_fields_of_a_queue_s_targets() -> None:
    assert QueueTargets.__struct_fields__ == ChannelTargetOverrides.__struct_fields__
    assert ChannelTargetOverrides.__struct_fields__ == QUEUE_TARGET_FIELDS
    assert QueueTargetOverrides.__struct_fields__ == (*QUEUE_TARGET_FIELDS, "channels")
    targets = parse_targets({"queues": {"sales": {"asa_s": 20, "min_volume": 5}}})
    assert targets.for_queue("any", "sales") == msgspec.structs.replace(
        DEFAULT_QUEUE_TARGETS, asa_s=20, min_volume=5
    )
    assert targets.overridden("asa_s") == [(None, "sales")]
    assert targets.overridden("service_level") == []


def test_live_staffing_advises_for_the_channel_s_target_at_the_queue_s_thresholds() -> None:
    settings = load_settings(ROOT / "deploy" / "ccpipe.yaml", env={})
    targets = msgspec.structs.replace(
        settings.targets,
        channels={"chat": ChannelTargetOverrides(service_level=0.7)},
        queues={**settings.targets.queues, "off": QueueTargetOverrides(service_level=None)},
    )
    voice = targets.service_target(
        "acme", "sales", "voice", settings.queue("acme", "sales", "voice")
    )
    chat = targets.service_target("x", "sales", "chat", settings.queue("x", "sales", "chat"))
    assert voice is not None and chat is not None
    config = settings.queue("acme", "sales", "voice")
    assert (voice.service_level, voice.threshold_s, voice.short_abandon_s) == (
        0.90,
        config.sl_threshold_us / 1e6,
        config.short_abandon_us / 1e6,
    )
    assert (chat.service_level, chat.threshold_s, chat.short_abandon_s) == (0.7, 60, 0)
    assert targets.service_target("x", "off", "voice", config) is None
    # A target of 1 is a share no finite staff can promise: nothing to advise.
    whole = parse_targets({"default": {"service_level": 1}})
    assert whole.service_target("x", "q", "voice", config) is None
