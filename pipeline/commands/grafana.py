"""`ccpipe grafana build|sync`: ccpipe's Grafana data sources and dashboards."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.grafana.panels import Json

DESCRIPTION = """\
ccpipe's dashboards (wallboard, queue detail, agents, goals, history, pipeline health) are
generated from pipeline/grafana/ and the targets of the settings file, with two data sources:
Prometheus and ClickHouse (the official grafana-clickhouse-datasource plugin).

  build  write Grafana's provisioning files and the dashboards' JSON into a directory
  sync   push the data sources and dashboards to a running Grafana over its HTTP API,
         creating or updating each by uid (a second run changes nothing)
"""

TOKEN_ENV = "CCPIPE_GRAFANA_TOKEN"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "grafana",
        help="build or push the Grafana dashboards and data sources",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="write provisioning files and dashboard JSON",
        description="Write grafana/provisioning/... and grafana/dashboards/*.json. "
        "example: ccpipe grafana build --config deploy/ccpipe.yaml --out grafana/",
    )
    sync = actions.add_parser(
        "sync",
        help="push data sources and dashboards to a running Grafana",
        description="Create or update ccpipe's data sources, folder and dashboards in a running "
        "Grafana, found by uid. example: ccpipe grafana sync --url http://localhost:3000 "
        f"--token $TOKEN (or ${TOKEN_ENV}; or http://user:password@host:3000)",
    )
    for action in (build, sync):
        action.add_argument("--config", help="YAML settings file with targets ($CCPIPE_CONFIG)")
        action.add_argument(
            "--prometheus-url",
            default=None,
            help="Prometheus as Grafana's server reaches it (default http://prometheus:9090)",
        )
        action.add_argument(
            "--store",
            help="ClickHouse server as Grafana reaches it, clickhouse://user@host:9000/db "
            "(default: the `store` setting)",
        )
    build.add_argument("--out", default="grafana", help="directory to write (default grafana/)")
    build.set_defaults(func=run_build)
    sync.add_argument("--url", required=True, help="Grafana's base URL")
    sync.add_argument("--token", help=f"service account token (default ${TOKEN_ENV})")
    sync.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    sync.set_defaults(func=run_sync)


def _load(args: argparse.Namespace, with_password: bool) -> tuple[list[Json], list[Json]] | int:
    from pipeline.config import ConfigError, load_settings
    from pipeline.grafana.dashboards import all_dashboards
    from pipeline.grafana.provisioning import (
        DEFAULT_PROMETHEUS_URL,
        GrafanaSetupError,
        clickhouse_url,
        datasources,
    )
    from pipeline.store.url import StoreURLError

    try:
        settings = load_settings(args.config)
        store = args.store or settings.store
        password = clickhouse_url(store).password() if with_password else None
        sources = datasources(args.prometheus_url or DEFAULT_PROMETHEUS_URL, store, password)
    except (ConfigError, GrafanaSetupError, StoreURLError) as exc:
        print(f"ccpipe grafana: {exc}", file=sys.stderr)
        return 2
    return sources, all_dashboards(settings.targets)


def run_build(args: argparse.Namespace) -> int:
    from pipeline.grafana.provisioning import tree, write_tree

    loaded = _load(args, with_password=False)
    if isinstance(loaded, int):
        return loaded
    sources, boards = loaded
    for path in write_tree(Path(args.out), tree(sources, boards)):
        print(path)
    return 0


def run_sync(args: argparse.Namespace) -> int:
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaException

    from pipeline.grafana.sync import sync

    loaded = _load(args, with_password=True)
    if isinstance(loaded, int):
        return loaded
    sources, boards = loaded
    token = args.token or os.environ.get(TOKEN_ENV) or None
    api = GrafanaApi.from_url(args.url, credential=token, timeout=args.timeout)
    try:
        report = sync(api, sources, boards)
    except GrafanaException as exc:
        print(f"ccpipe grafana sync: {args.url}: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ccpipe grafana sync: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0
