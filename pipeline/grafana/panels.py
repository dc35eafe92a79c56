"""Builders for Grafana's dashboard JSON: queries, panels, thresholds and a row-by-row layout.

Only what ccpipe's dashboards use, with the fields Grafana needs (every panel gets an id, a
type, a gridPos and its targets); the JSON model is Grafana's (schemaVersion 39).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.core.catalogue import NEAR_FLOOR_POINTS, NEAR_LIMIT_SHARE, RATIO, SCORE, SECONDS

SCHEMA_VERSION = 39
PROMETHEUS_UID = "ccpipe-prometheus"
CLICKHOUSE_UID = "ccpipe-clickhouse"
CLICKHOUSE_TYPE = "grafana-clickhouse-datasource"
PROMETHEUS = {"type": "prometheus", "uid": PROMETHEUS_UID}
CLICKHOUSE = {"type": CLICKHOUSE_TYPE, "uid": CLICKHOUSE_UID}

Json = dict[str, Any]
# Grafana's unit of each catalogue unit.
UNITS = {RATIO: "percentunit", SECONDS: "s", SCORE: "none"}


def prom(expr: str, legend: str = "", instant: bool = False) -> Json:
    """A PromQL target (refId is set when the panel is made)."""
    return {
        "datasource": PROMETHEUS,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }


def sql(raw: str, time_series: bool = False) -> Json:
    """A ClickHouse SQL target of the official plugin (`rawSql`, editor "sql")."""
    return {
        "datasource": CLICKHOUSE,
        "editorType": "sql",
        "queryType": "timeSeries" if time_series else "table",
        "format": 0 if time_series else 1,
        "rawSql": raw.strip(),
    }


def steps(*pairs: tuple[str, float | None]) -> Json:
    """Absolute thresholds: (colour, from value), the first from None (minus infinity)."""
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for color, value in pairs],
    }


def higher_is_better(target: float | None, amber_gap: float = NEAR_FLOOR_POINTS) -> Json:
    """Red below target - gap, amber up to the target, green from it (blue: no target)."""
    if target is None:
        return steps(("blue", None))
    return steps(("red", None), ("orange", round(target - amber_gap, 6)), ("green", target))


def lower_is_better(limit: float | None, amber_share: float = NEAR_LIMIT_SHARE) -> Json:
    """Green under 80% of the limit, amber up to it, red from the limit (blue: no limit)."""
    if limit is None:
        return steps(("blue", None))
    return steps(("green", None), ("orange", round(limit * amber_share, 6)), ("red", limit))


def bands(target: float | None, higher: bool) -> Json:
    """The colour bands of a figure judged against `target`: a floor when `higher` is better,
    else a limit."""
    return higher_is_better(target) if higher else lower_is_better(target)


def by_name(name: str, thresholds: Json) -> Json:
    """A field override: this series (by its display name) gets its own thresholds."""
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "thresholds", "value": thresholds}],
    }


@dataclass
class Panel:
    type: str
    title: str
    targets: list[Json]
    width: int = 12
    height: int = 8
    unit: str = ""
    thresholds: Json | None = None
    overrides: list[Json] = field(default_factory=list)
    options: Json = field(default_factory=dict)
    custom: Json = field(default_factory=dict)
    description: str = ""
    decimals: int | None = None
    minimum: float | None = None
    maximum: float | None = None

    def json(self, panel_id: int, x: int, y: int) -> Json:
        datasource = self.targets[0]["datasource"]
        defaults: Json = {"unit": self.unit or "none", "custom": self.custom}
        if self.thresholds is not None:
            defaults["thresholds"] = self.thresholds
            defaults["color"] = {"mode": "thresholds"}
        else:
            defaults["color"] = {"mode": "palette-classic"}
        for key, value in (
            ("decimals", self.decimals),
            ("min", self.minimum),
            ("max", self.maximum),
        ):
            if value is not None:
                defaults[key] = value
        return {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "datasource": datasource,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "targets": [
                {**target, "refId": chr(ord("A") + i)} for i, target in enumerate(self.targets)
            ],
            "fieldConfig": {"defaults": defaults, "overrides": self.overrides},
            "options": self.options,
        }


def stat(
    title: str,
    targets: Sequence[Json],
    unit: str = "",
    thresholds: Json | None = None,
    overrides: Sequence[Json] = (),
    width: int = 24,
    height: int = 6,
    big: bool = False,
    description: str = "",
    decimals: int | None = None,
) -> Panel:
    """One tile per series (per queue, with `{{queue}}` legends): readable across a room when
    `big`, coloured from the thresholds as a whole background."""
    text = {"titleSize": 28, "valueSize": 72} if big else {}
    return Panel(
        "stat",
        title,
        list(targets),
        width,
        height,
        unit,
        thresholds if thresholds is not None else steps(("blue", None)),
        list(overrides),
        {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "center",
            "orientation": "auto",
            "textMode": "value_and_name",
            "wideLayout": True,
            "showPercentChange": False,
            "text": text,
        },
        description=description,
        decimals=decimals,
    )


def timeseries(
    title: str,
    targets: Sequence[Json],
    unit: str = "",
    width: int = 12,
    height: int = 8,
    stacked: bool = False,
    threshold_line: Json | None = None,
    description: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
) -> Panel:
    custom: Json = {
        "drawStyle": "line",
        "lineWidth": 2,
        "fillOpacity": 25 if stacked else 5,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
        "thresholdsStyle": {"mode": "line" if threshold_line else "off"},
    }
    return Panel(
        "timeseries",
        title,
        list(targets),
        width,
        height,
        unit,
        threshold_line,
        options={
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        custom=custom,
        description=description,
        minimum=minimum,
        maximum=maximum,
    )


def table(
    title: str, targets: Sequence[Json], width: int = 24, height: int = 9, description: str = ""
) -> Panel:
    return Panel(
        "table",
        title,
        list(targets),
        width,
        height,
        options={"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
        custom={"align": "auto", "cellOptions": {"type": "auto"}},
        description=description,
    )


def bargauge(
    title: str,
    targets: Sequence[Json],
    unit: str = "",
    thresholds: Json | None = None,
    overrides: Sequence[Json] = (),
    width: int = 12,
    height: int = 8,
    description: str = "",
) -> Panel:
    return Panel(
        "bargauge",
        title,
        list(targets),
        width,
        height,
        unit,
        thresholds if thresholds is not None else steps(("blue", None)),
        list(overrides),
        {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "basic",
            "showUnfilled": True,
        },
        description=description,
    )


def layout(panels: Sequence[Panel]) -> list[Json]:
    """Panels left to right, wrapping at Grafana's 24 columns; ids from 1."""
    out: list[Json] = []
    x = y = row_height = 0
    for i, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        out.append(panel.json(i, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return out


def prom_variable(name: str, label: str, metric: str, label_name: str, hide: bool = False) -> Json:
    query = f"label_values({metric}, {label_name})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROMETHEUS,
        "query": {"query": query, "refId": f"var-{name}"},
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "multi": False,
        "includeAll": False,
        "current": {},
        "hide": 2 if hide else 0,
    }


def sql_variable(name: str, label: str, raw: str) -> Json:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": CLICKHOUSE,
        "query": raw,
        "definition": raw,
        "refresh": 2,
        "sort": 1,
        "multi": False,
        "includeAll": False,
        "current": {},
        "hide": 0,
    }


def constant_variable(name: str, value: str) -> Json:
    return {
        "name": name,
        "type": "constant",
        "query": value,
        "hide": 2,
        "current": {"text": value, "value": value},
        "options": [{"text": value, "value": value, "selected": True}],
    }


def dashboard(
    uid: str,
    title: str,
    panels: Sequence[Panel],
    variables: Sequence[Json] = (),
    refresh: str = "30s",
    time_from: str = "now-6h",
    description: str = "",
    tags: Sequence[str] = (),
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["ccpipe", *tags],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "templating": {"list": list(variables)},
        "annotations": {"list": []},
        "links": [
            {
                "type": "dashboards",
                "tags": ["ccpipe"],
                "asDropdown": True,
                "title": "ccpipe",
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "panels": layout(panels),
    }
