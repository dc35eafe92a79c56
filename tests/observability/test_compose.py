"""docker-compose.yml: valid, every image pinned, and every service running the command and
settings that the tests run outside containers."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.cli import COMMANDS, build_parser
from pipeline.config import load_settings
from tests.observability.binaries import need
from tests.observability.compose import COMPOSE, CONTAINER_CONFIG, command, host_path, services

ROOT = Path(__file__).resolve().parents[2]
CCPIPE_SERVICES = ("topics", "migrate", "worker", "sink", "ingest", "simulator")
EXPECTED = {"kafka", "clickhouse", "prometheus", "alertmanager", "grafana", *CCPIPE_SERVICES}


def test_docker_compose_validates_the_file() -> None:
    done = subprocess.run(
        [need("docker-compose"), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_every_service_is_there_and_every_image_is_pinned() -> None:
    assert set(services()) == EXPECTED
    for name, spec in services().items():
        image = spec["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.search(r"\d", tag) and tag != "latest", (name, image)
    assert services()["kafka"]["image"].startswith("apache/kafka:")
    assert services()["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert (
        "grafana-clickhouse-datasource "
        in services()["grafana"]["environment"]["GF_INSTALL_PLUGINS"]
    )
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:\d+\.\d+\.\d+-slim", dockerfile, re.M)


def _ccpipe_argv(service: str) -> list[list[str]]:
    """The ccpipe command lines a service runs (a shell pipeline gives several)."""
    argv = command(service)
    if services()[service].get("entrypoint") is None:
        return [argv]
    entry = services()[service]["entrypoint"]
    assert entry[-2:] == ["/bin/sh", "-c"] or entry == ["/bin/sh", "-c"]
    script = argv[-1].replace('"$(date -u +%Y-%m-%dT%H:%M:%SZ)"', "2026-11-23T07:00:00Z")
    script = script.replace("$$(date -u +%Y-%m-%dT%H:%M:%SZ)", "2026-11-23T07:00:00Z")
    return [shlex.split(part) for part in script.split("|")]


@pytest.mark.parametrize("service", CCPIPE_SERVICES)
def test_ccpipe_services_run_real_commands_with_the_repo_settings(service: str) -> None:
    parser = build_parser()
    commands = _ccpipe_argv(service)
    for argv in commands:
        if argv[0] == "ccpipe":
            argv = argv[1:]
        assert argv[0] in COMMANDS
        args = parser.parse_args(argv)  # exits on an unknown option
        config = getattr(args, "config", None)
        if config is not None:
            assert config == CONTAINER_CONFIG
    path = host_path(service, CONTAINER_CONFIG)
    assert path == (ROOT / "deploy" / "ccpipe.yaml").resolve()
    load_settings(path, env={})


def test_the_worker_serves_metrics_where_prometheus_scrapes() -> None:
    assert command("worker") == ["worker", "--config", CONTAINER_CONFIG]
    settings = load_settings(host_path("worker", CONTAINER_CONFIG), env={})
    assert settings.web_host == "0.0.0.0"
    prometheus = yaml.safe_load(
        host_path("prometheus", "/etc/prometheus").joinpath("prometheus.yml").read_text()
    )
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "ccpipe-worker")
    assert job["static_configs"][0]["targets"] == [f"worker:{settings.web_port}"]
    assert prometheus["rule_files"] == ["rules/*.yml"]
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]
    flags = command("prometheus")
    assert "--config.file=/etc/prometheus/prometheus.yml" in flags


def test_grafana_is_provisioned_from_the_repository() -> None:
    grafana = services()["grafana"]
    assert host_path("grafana", "/etc/grafana/provisioning") == (ROOT / "grafana" / "provisioning")
    assert (
        host_path("grafana", "/var/lib/grafana/dashboards/ccpipe")
        == ROOT / "grafana" / "dashboards"
    )
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / "grafana" / "dashboards" / Path(home).name).exists()
    assert host_path("alertmanager", "/etc/alertmanager") == ROOT / "deploy" / "alertmanager"
