"""Grafana: the committed provisioning is what `ccpipe grafana build` writes, the dashboards
carry what Grafana needs, and `ccpipe grafana sync` talks Grafana's HTTP API idempotently."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.grafana.dashboards import all_dashboards
from pipeline.grafana.panels import CLICKHOUSE_UID, PROMETHEUS_UID
from tests.observability.grafana_double import grafana_double

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
CONFIG = "deploy/ccpipe.yaml"
PANEL_TYPES = {"stat", "timeseries", "table", "bargauge"}
TOKEN = "glsa_test_token"


def boards() -> list[dict[str, Any]]:
    return all_dashboards(load_settings(ROOT / CONFIG, env={}).targets)


def test_committed_grafana_files_are_what_the_build_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("CCPIPE_STORE", raising=False)
    assert main(["grafana", "build", "--config", CONFIG, "--out", str(tmp_path)]) == 0
    built = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(GRAFANA) for p in GRAFANA.rglob("*") if p.is_file()}
    assert built == committed
    for relative in built:
        assert (tmp_path / relative).read_text() == (GRAFANA / relative).read_text(), (
            f"grafana/{relative} is stale: run `ccpipe grafana build --config {CONFIG} "
            "--out grafana/`"
        )


def test_provisioning_names_both_data_sources_and_no_secret() -> None:
    text = (GRAFANA / "provisioning" / "datasources" / "ccpipe.yaml").read_text()
    sources = {d["uid"]: d for d in yaml.safe_load(text)["datasources"]}
    assert sources[PROMETHEUS_UID]["type"] == "prometheus"
    clickhouse = sources[CLICKHOUSE_UID]
    assert clickhouse["type"] == "grafana-clickhouse-datasource"
    assert clickhouse["jsonData"]["protocol"] == "native"
    assert clickhouse["jsonData"]["defaultDatabase"] == "ccpipe"
    # Grafana expands the variable when it provisions; the file holds no password.
    assert clickhouse["secureJsonData"]["password"] == "${CCPIPE_STORE_PASSWORD}"
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "ccpipe.yaml").read_text()
    )
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/ccpipe"


def _overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return not (
        a["x"] + a["w"] <= b["x"]
        or b["x"] + b["w"] <= a["x"]
        or a["y"] + a["h"] <= b["y"]
        or b["y"] + b["h"] <= a["y"]
    )


@pytest.mark.parametrize("board", boards(), ids=lambda b: b["uid"])
def test_dashboards_carry_what_grafana_requires(board: dict[str, Any]) -> None:
    assert re.fullmatch(r"[a-z0-9-]{1,40}", board["uid"])
    assert board["title"] and isinstance(board["schemaVersion"], int)
    assert "ccpipe" in board["tags"]
    variables = {v["name"] for v in board["templating"]["list"]}
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    grids: list[dict[str, int]] = []
    for panel in board["panels"]:
        assert panel["type"] in PANEL_TYPES and panel["title"]
        grid = panel["gridPos"]
        assert set(grid) == {"x", "y", "w", "h"} and grid["x"] + grid["w"] <= 24
        assert all(not _overlap(grid, other) for other in grids), panel["title"]
        grids.append(grid)
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            uid = target["datasource"]["uid"]
            assert uid in (PROMETHEUS_UID, CLICKHOUSE_UID)
            query = target["expr"] if uid == PROMETHEUS_UID else target["rawSql"]
            assert query.strip()
            for used in re.findall(r"\$\{?(\w+)", query):
                assert used.startswith("__") or used in variables, (panel["title"], used)
    json.dumps(board)  # plain JSON all through


def test_the_wallboard_colours_each_queue_from_its_targets() -> None:
    acme = next(b for b in boards() if b["uid"] == "ccpipe-wallboard-acme")
    service_level = acme["panels"][0]
    assert service_level["options"]["colorMode"] == "background"
    assert service_level["options"]["text"]["valueSize"] >= 60  # readable across a room
    steps = service_level["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "green", "value": 0.8}
    overrides = {
        o["matcher"]["options"]: o["properties"][0]["value"]["steps"][-1]["value"]
        for o in service_level["fieldConfig"]["overrides"]
    }
    assert overrides == {"sales": 0.9, "billing": 0.7}  # acme's own, then the queue's


def test_sync_creates_then_changes_nothing(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", "s3cret")
    monkeypatch.delenv("CCPIPE_STORE", raising=False)
    args = ["grafana", "sync", "--config", CONFIG, "--token", TOKEN]
    with grafana_double(TOKEN) as (url, state):
        assert main([*args, "--url", url]) == 0
        first = list(state.requests)
        assert ("POST", "/api/datasources") in first
        assert first.count(("POST", "/api/dashboards/db")) == len(boards())
        assert set(state.datasources) == {PROMETHEUS_UID, CLICKHOUSE_UID}
        assert set(state.folders) == {"ccpipe"}
        for board in boards():
            stored = state.dashboards[board["uid"]]
            assert stored["folder"] == "ccpipe"
            assert {k: v for k, v in stored["dashboard"].items() if k not in ("id", "version")} == {
                k: v for k, v in board.items() if k != "version"
            }
        capsys.readouterr()

        state.requests.clear()
        assert main([*args, "--url", url]) == 0
        second = state.requests
        # Found by uid, updated in place: no second data source, folder or dashboard version.
        assert ("POST", "/api/datasources") not in second
        assert ("PUT", f"/api/datasources/uid/{CLICKHOUSE_UID}") in second
        assert ("POST", "/api/folders") not in second
        assert ("POST", "/api/dashboards/db") not in second
        assert all(d["dashboard"]["version"] == 1 for d in state.dashboards.values())
        out = capsys.readouterr().out
        assert out.count("unchanged") == len(boards())


def test_sync_sends_the_password_only_over_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CCPIPE_STORE_PASSWORD", "s3cret")
    from pipeline.grafana.provisioning import datasources

    sent = datasources(
        "http://prometheus:9090", "clickhouse://ccpipe@clickhouse:9000/ccpipe", "s3cret"
    )
    assert sent[1]["secureJsonData"] == {"password": "s3cret"}
    assert "s3cret" not in (GRAFANA / "provisioning" / "datasources" / "ccpipe.yaml").read_text()


def test_sync_reports_a_refused_token(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.chdir(ROOT)
    with grafana_double(TOKEN) as (url, state):
        code = main(["grafana", "sync", "--config", CONFIG, "--url", url, "--token", "wrong"])
    assert code == 1
    assert "Unauthorized" in capsys.readouterr().err
    assert not state.datasources


def test_an_embedded_store_is_refused_with_the_fix(capsys: Any, tmp_path: Path) -> None:
    code = main(["grafana", "build", "--store", "chdb://./x", "--out", str(tmp_path)])
    assert code == 2
    assert "--store clickhouse://" in capsys.readouterr().err
