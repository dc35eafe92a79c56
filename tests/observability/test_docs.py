"""docs/observability.md against the code: every metric the worker exposes is in the
reference (and nothing else is), every alert and rule group is described, and the targets
example is a valid settings file."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.config import load_settings
from pipeline.liveview.metrics import LiveViewCollector
from pipeline.liveview.view import CentreView
from pipeline.rules import alert_groups, alerts, recording_groups
from pipeline.stream.metrics import build_registry
from tests.stream.events import mixed_events
from tests.stream.harness import LocalPipeline

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "observability.md").read_text()
SETTINGS = load_settings(env={})


def exposed_metrics() -> dict[str, str]:
    """Name (as scraped, `_total` on counters) -> type, from a worker's registry."""
    pipeline = LocalPipeline(SETTINGS, partitions=2)
    pipeline.produce(mixed_events(seed=3, contacts=60), batch=4)
    pipeline.run(max_messages=5)
    registry, _ = build_registry(pipeline)
    registry.register(LiveViewCollector(CentreView(2, SETTINGS.tenant_timezone)))
    return {
        family.name + ("_total" if family.type == "counter" else ""): family.type
        for family in registry.collect()
    }


def documented_metrics() -> dict[str, str]:
    rows = re.findall(r"^\| `(ccpipe_\w+)` \| (\w+) \|", DOC, re.M)
    return dict(rows)


def test_the_metrics_reference_is_the_worker_s_metrics() -> None:
    assert documented_metrics() == exposed_metrics()


def test_every_alert_and_rule_group_is_described() -> None:
    targets = load_settings(ROOT / "deploy" / "ccpipe.yaml", env={}).targets
    for alert in alerts(targets):
        assert f"| `{alert.name}` |" in DOC, alert.name
    for group in recording_groups(targets):
        assert f"| `{group['name']}` |" in DOC, group["name"]
    assert {g["name"] for g in alert_groups(targets)} == {
        "ccpipe-queue-alerts",
        "ccpipe-pipeline-alerts",
    }


def test_the_targets_example_is_a_valid_settings_file(tmp_path: Path) -> None:
    example = next(
        block for block in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if "targets:" in block
    )
    path = tmp_path / "example.yaml"
    path.write_text(example)
    targets = load_settings(path, env={}).targets
    assert targets.for_queue("acme", "sales").service_level == 0.90
    assert targets.for_queue("x", "support").asa_s == 45
    assert [g.name for g in targets.goals] == ["support-csat", "fcr-all"]


def test_every_wallboard_figure_is_defined_in_the_kpi_docs() -> None:
    """docs/kpis.md's wallboard table names every figure the wallboard shows."""
    from pipeline.wallboard.board import CHANNEL_FIGURES, FIGURES

    kpis = (ROOT / "docs" / "kpis.md").read_text()
    table = kpis[kpis.index("## Wallboard figures (live only)") :]
    missing = [f.key for f in (*FIGURES, *CHANNEL_FIGURES) if f"`{f.key}`" not in table]
    assert not missing, f"wallboard figures not defined in docs/kpis.md: {missing}"
