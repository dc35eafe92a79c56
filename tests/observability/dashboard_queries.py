"""Every query of the generated dashboards, with Grafana's variables and macros filled in the
way Grafana and the ClickHouse plugin fill them, so tests can run them for real."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.grafana.panels import CLICKHOUSE_UID, PROMETHEUS_UID


@dataclass(frozen=True)
class Query:
    board: str
    panel: str
    text: str

    def __str__(self) -> str:
        return f"{self.board} / {self.panel}"


def queries(boards: list[dict[str, Any]], datasource: str) -> Iterator[Query]:
    """Panel targets and query variables of one data source (uid)."""
    for board in boards:
        for variable in board["templating"]["list"]:
            if variable.get("datasource", {}).get("uid") != datasource:
                continue
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            yield Query(board["uid"], f"variable {variable['name']}", text)
        for panel in board["panels"]:
            for target in panel["targets"]:
                if target["datasource"]["uid"] == datasource:
                    key = "expr" if datasource == PROMETHEUS_UID else "rawSql"
                    yield Query(board["uid"], panel["title"], target[key])


def prometheus_queries(boards: list[dict[str, Any]]) -> list[Query]:
    return list(queries(boards, PROMETHEUS_UID))


def clickhouse_queries(boards: list[dict[str, Any]]) -> list[Query]:
    return list(queries(boards, CLICKHOUSE_UID))


def fill_variables(text: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        return values[name] if name in values else match[0]

    return re.sub(r"\$\{(\w+)\}|\$(?!__)(\w+)", value, text)


def expand_sql(text: str, start: datetime, end: datetime, values: Mapping[str, str]) -> str:
    """The plugin's macros (pkg/macros/macros.go of grafana-clickhouse-datasource) as it
    expands them, then the dashboard variables."""
    begin, until = f"toDateTime({int(start.timestamp())})", f"toDateTime({int(end.timestamp())})"
    text = re.sub(
        r"\$__timeFilter\(([^)]+)\)",
        lambda m: f"{m[1]} >= {begin} AND {m[1]} <= {until}",
        text,
    )
    text = text.replace("$__fromTime", begin).replace("$__toTime", until)
    return fill_variables(text, values)


LABEL_VALUES = re.compile(r"^label_values\((.+),\s*(\w+)\)$")


def label_values_query(text: str) -> tuple[str, str] | None:
    """(series selector, label) of a `label_values(selector, label)` variable query."""
    match = LABEL_VALUES.match(text.strip())
    return (match[1], match[2]) if match else None
