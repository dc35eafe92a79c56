"""The generated Prometheus rules: up to date, valid, well named, and tested by promtool."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.core.catalogue import QUEUE_SERIES
from pipeline.rules import RECORDING_FILE, alerts, recording_groups, rule_files, target_expr
from pipeline.targets import Targets, parse_targets
from tests.observability.binaries import need

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules"
CONFIG = "deploy/ccpipe.yaml"
NAME = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")


def deploy_targets() -> Targets:
    return load_settings(ROOT / CONFIG, env={}).targets


def test_committed_rules_are_what_ccpipe_rules_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["rules", "--config", CONFIG, "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in RULES.glob("*.yml"))
    for name in written:
        assert (tmp_path / name).read_text() == (RULES / name).read_text(), (
            f"deploy/prometheus/rules/{name} is stale: run `ccpipe rules --config {CONFIG} "
            "--out deploy/prometheus/rules/`"
        )


def test_promtool_checks_the_rules_and_the_config() -> None:
    promtool = need("promtool")
    done = subprocess.run(
        [promtool, "check", "rules", *map(str, sorted(RULES.glob("*.yml")))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_prove_each_alert_fires_and_stays_quiet() -> None:
    """deploy/prometheus/tests/*.yml: every alert fires in a test, and stays quiet for a
    short blip or low volume where those apply."""
    promtool = need("promtool")
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    done = subprocess.run(
        [promtool, "test", "rules", *(str(t.relative_to(PROMETHEUS)) for t in tests)],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    fired: set[str] = set()
    for test in tests:
        for case in yaml.safe_load(test.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check["exp_alerts"]:
                    fired.add(check["alertname"])
    assert fired == {a.name for a in alerts(deploy_targets())}


def test_recording_rules_follow_the_naming_and_never_average_ratios() -> None:
    groups = recording_groups(deploy_targets())
    names = [rule["record"] for group in groups for rule in group["rules"]]
    assert len(names) == len(set(names))
    for group in groups:
        for rule in group["rules"]:
            assert NAME.match(rule["record"]), rule["record"]
            assert "avg" not in rule["expr"], rule
            level = rule["record"].split(":")[0]
            if level.startswith("tenant_queue") and "by (" in rule["expr"]:
                by = re.findall(r"by \(([^)]*)\)", rule["expr"])
                labels = level.replace("tenant_queue_channel", "tenant, queue, channel")
                labels = labels.replace("tenant_queue_state", "tenant, queue, state")
                labels = labels.replace("tenant_queue", "tenant, queue")
                assert any(b.startswith(labels) for b in by), rule
    for window in ("5m", "15m", "1h"):
        assert f"tenant_queue:ccpipe_service_level:ratio_rate{window}" in names
    service_level = next(
        r["expr"]
        for g in groups
        for r in g["rules"]
        if r["record"] == "tenant_queue:ccpipe_service_level:ratio_rate15m"
    )
    # One division of summed numerator by summed denominator, empty for a 0 denominator.
    assert service_level == (
        "tenant_queue:ccpipe_contacts_answered_within_sl:rate15m\n/\n"
        "(tenant_queue:ccpipe_contacts_answered:rate15m + "
        "tenant_queue:ccpipe_contacts_abandoned:rate15m > 0)"
    )


def test_alerts_carry_queue_labels_and_an_actionable_summary() -> None:
    text = (RULES / "ccpipe-alerts.yml").read_text()
    for group in yaml.safe_load(text)["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert rule["labels"]["scope"] in ("queue", "pipeline")
            annotations = rule["annotations"]
            assert annotations["summary"] and len(annotations["description"]) > 60
            if rule["labels"]["scope"] == "queue":
                assert "{{ $labels.queue }}" in annotations["summary"]
                assert "on (tenant, queue)" in rule["expr"]


def test_a_null_target_switches_the_check_off_for_that_queue_only() -> None:
    targets = parse_targets(
        {"default": {"asa_s": 30}, "queues": {"billing": {"asa_s": None}, "sales": {"asa_s": 20}}}
    )
    expr = target_expr(targets, "asa_s")
    assert expr is not None
    assert (
        "unless on (tenant, queue) group by (tenant, queue) "
        f'({QUEUE_SERIES}{{queue="billing"}})' in expr
    )
    assert expr.index("20 +") < expr.index("30 +")
    # No queue with a target: no target series, and no alert that could never fire.
    none = parse_targets({"default": {"longest_wait_s": None}})
    assert target_expr(none, "longest_wait_s") is None
    assert "CcpipeLongestWaitAboveLimit" not in {a.name for a in alerts(none)}


def test_rule_files_name_the_config_they_came_from() -> None:
    files = rule_files(deploy_targets(), CONFIG)
    assert f"ccpipe rules --config {CONFIG}" in files[RECORDING_FILE]


def test_the_sink_alert_waits_its_own_duration() -> None:
    targets = parse_targets({"alerting": {"sink_failing_for": "7m", "lag_for": "2m"}})
    holds = {a.name: a.for_s for a in alerts(targets)}
    assert (holds["CcpipeSinkFailing"], holds["CcpipePipelineLagging"]) == (420, 120)
    assert {a.name: a.for_s for a in alerts(Targets())}["CcpipeSinkFailing"] == 300


def test_the_staffing_alerts_wait_their_own_durations_and_need_a_service_level_target() -> None:
    targets = parse_targets({"alerting": {"staffing_gap_for": "15m", "projected_below_for": "2m"}})
    holds = {a.name: a.for_s for a in alerts(targets)}
    assert (holds["CcpipeStaffingGap"], holds["CcpipeProjectedServiceLevelBelowTarget"]) == (
        900,
        120,
    )
    none = parse_targets({"default": {"service_level": None}})
    names = {a.name for a in alerts(none)}
    assert not names & {"CcpipeStaffingGap", "CcpipeProjectedServiceLevelBelowTarget"}


def test_staffing_rules_take_one_reader_s_figure_and_sum_only_channels() -> None:
    """Every reader exports the whole centre's advice: summing over readers would count a
    queue's need once per worker."""
    rules = {
        r["record"]: r["expr"]
        for g in recording_groups(deploy_targets())
        if g["name"] == "ccpipe-staffing"
        for r in g["rules"]
    }
    assert rules["tenant_queue_channel:ccpipe_staffing_required_agents:max"] == (
        "max by (tenant, queue, channel) (ccpipe_staffing_required_agents)"
    )
    assert rules["tenant_queue:ccpipe_staffing_required_agents:sum"] == (
        "sum by (tenant, queue) (tenant_queue_channel:ccpipe_staffing_required_agents:max)"
    )
    assert rules["tenant_queue:ccpipe_staffing_staffed_agents:min"] == (
        "min by (tenant, queue) (ccpipe_staffing_staffed_agents)"
    )
