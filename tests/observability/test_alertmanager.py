"""deploy/alertmanager/alertmanager.yml: valid, routed per tenant, and inhibiting per-queue
alerts while the pipeline itself is down, checked with amtool and a real Alertmanager."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.observability.alertmanager_process import CONFIG, AlertmanagerProcess, call
from tests.observability.binaries import need


def test_amtool_checks_the_config() -> None:
    done = subprocess.run(
        [need("amtool"), "check-config", str(CONFIG)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"scope": "queue", "tenant": "acme", "severity": "warning"}, "tenant-acme"),
        ({"scope": "queue", "tenant": "acme", "severity": "critical"}, "tenant-acme-urgent"),
        ({"scope": "queue", "tenant": "default", "severity": "warning"}, "tenant-default"),
        ({"scope": "pipeline", "severity": "critical"}, "pipeline-oncall"),
        ({"scope": "queue", "tenant": "newcomer", "severity": "warning"}, "contact-centre"),
    ],
)
def test_alerts_route_per_tenant(labels: dict[str, str], receiver: str) -> None:
    done = subprocess.run(
        [
            need("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={CONFIG}",
            *(f"{k}={v}" for k, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [receiver]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    process = AlertmanagerProcess(tmp_path)
    process.start()
    try:
        yield process.base
    finally:
        process.stop()


def _alert(**labels: str) -> dict[str, Any]:
    return {"labels": labels, "startsAt": datetime.now(UTC).isoformat()}


def _states(base: str) -> dict[str, tuple[str, list[str]]]:
    return {
        a["labels"]["alertname"] + "/" + a["labels"].get("queue", "-"): (
            a["status"]["state"],
            a["status"]["inhibitedBy"],
        )
        for a in call(f"{base}/api/v2/alerts")
    }


def _sales_service_level() -> dict[str, Any]:
    return _alert(
        alertname="CcpipeServiceLevelBelowTarget",
        scope="queue",
        severity="warning",
        tenant="default",
        queue="sales",
    )


def test_queue_alerts_are_held_back_while_the_pipeline_is_down(alertmanager: str) -> None:
    queue_alert = _sales_service_level()
    call(f"{alertmanager}/api/v2/alerts", [queue_alert])
    assert _states(alertmanager)["CcpipeServiceLevelBelowTarget/sales"] == ("active", [])

    down = _alert(
        alertname="CcpipeWorkerDown", scope="pipeline", severity="critical", instance="w1:6066"
    )
    call(f"{alertmanager}/api/v2/alerts", [down])
    states = _states(alertmanager)
    state, by = states["CcpipeServiceLevelBelowTarget/sales"]
    assert state == "suppressed" and len(by) == 1
    # The pipeline's own alert is never held back.
    assert states["CcpipeWorkerDown/-"] == ("active", [])


def test_an_abandon_spike_holds_back_the_same_queues_service_level(alertmanager: str) -> None:
    common = {"scope": "queue", "tenant": "default"}
    call(
        f"{alertmanager}/api/v2/alerts",
        [
            _alert(
                alertname="CcpipeAbandonRateSpike", severity="critical", queue="sales", **common
            ),
            _alert(
                alertname="CcpipeServiceLevelBelowTarget",
                severity="warning",
                queue="sales",
                **common,
            ),
            _alert(
                alertname="CcpipeServiceLevelBelowTarget",
                severity="warning",
                queue="billing",
                **common,
            ),
        ],
    )
    states = _states(alertmanager)
    assert states["CcpipeServiceLevelBelowTarget/sales"][0] == "suppressed"
    assert states["CcpipeServiceLevelBelowTarget/billing"] == ("active", [])


def test_a_failing_sink_goes_to_the_pipeline_on_call_and_holds_back_no_queue(
    alertmanager: str,
) -> None:
    """The queue figures come from the workers, not the store: a sink that cannot write
    leaves the queue alerts as they are."""
    sink = _alert(
        alertname="CcpipeSinkFailing",
        scope="pipeline",
        severity="critical",
        job="ccpipe-sink",
        instance="sink:6067",
    )
    queue_alert = _sales_service_level()
    call(f"{alertmanager}/api/v2/alerts", [sink, queue_alert])
    states = _states(alertmanager)
    assert states["CcpipeSinkFailing/-"] == ("active", [])
    assert states["CcpipeServiceLevelBelowTarget/sales"] == ("active", [])
    receivers = {
        a["labels"]["alertname"]: [r["name"] for r in a["receivers"]]
        for a in call(f"{alertmanager}/api/v2/alerts")
    }
    assert receivers["CcpipeSinkFailing"] == ["pipeline-oncall"]
