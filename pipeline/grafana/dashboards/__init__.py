"""ccpipe's Grafana dashboards, one module each, generated from the catalogue
(pipeline/core/catalogue.py) and the targets: never hand-edited JSON.

- `wallboard`: `ccpipe-wallboard` (and one per tenant with targets of its own), big tiles.
- `queue_detail`: `ccpipe-queue`, one queue's KPIs over time against its targets.
- `agents`: `ccpipe-agents`, agents per state; per-agent history from ClickHouse.
- `goals`: `ccpipe-goals`, each SMART goal against its plan (ClickHouse).
- `history`: `ccpipe-history`, analyst panels in ClickHouse SQL.
- `pipeline_health`: `ccpipe-pipeline`, the workers' and the sink's health.

Live figures come from the recording rules (pipeline/rules.py), so each ratio is a ratio of
sums over workers; history from ClickHouse, summed before dividing (pipeline/kpi_sql.py).
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.grafana.dashboards import (
    agents,
    goals,
    history,
    pipeline_health,
    queue_detail,
    wallboard,
)
from pipeline.grafana.panels import Json
from pipeline.targets import Targets

# Each module's dashboards from the targets, in the order they are written and synced.
BOARDS: tuple[Callable[[Targets], list[Json]], ...] = (
    wallboard.boards,
    queue_detail.boards,
    agents.boards,
    goals.boards,
    history.boards,
    pipeline_health.boards,
)


def all_dashboards(targets: Targets) -> list[Json]:
    return [board for boards in BOARDS for board in boards(targets)]
