"""Push ccpipe's data sources and dashboards to a running Grafana, idempotently.

Each object is found by its uid first (Grafana's HTTP API: GET /api/datasources/uid/:uid,
GET /api/folders/:uid, GET /api/dashboards/uid/:uid), then created (POST /api/datasources,
POST /api/folders, POST /api/dashboards/db) or updated (PUT /api/datasources/uid/:uid,
POST /api/dashboards/db with overwrite). A dashboard whose JSON is already the one we would
send is left alone, so a second run changes nothing and adds no dashboard version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.grafana.panels import Json
from pipeline.grafana.provisioning import FOLDER_TITLE, FOLDER_UID

# Fields Grafana adds to a stored dashboard, which ours never carries.
_SERVER_FIELDS = ("id", "version")


@dataclass
class SyncReport:
    actions: list[tuple[str, str, str]] = field(default_factory=list)  # (action, kind, uid)

    def add(self, action: str, kind: str, uid: str) -> None:
        self.actions.append((action, kind, uid))

    def lines(self) -> list[str]:
        return [f"{action:9} {kind:10} {uid}" for action, kind, uid in self.actions]


def _find(getter: Any, uid: str) -> Json | None:
    from grafana_client.client import GrafanaClientError

    try:
        found: Json = getter(uid)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise
    return found


def _same_dashboard(stored: Json, ours: Json) -> bool:
    def bare(board: Json) -> Json:
        return {k: v for k, v in board.items() if k not in _SERVER_FIELDS}

    return bare(stored) == bare(ours)


def sync(api: Any, sources: Sequence[Json], boards: Sequence[Json]) -> SyncReport:
    """`api` is a `grafana_client.GrafanaApi`."""
    report = SyncReport()
    for source in sources:
        uid = source["uid"]
        if _find(api.datasource.get_datasource_by_uid, uid) is None:
            api.datasource.create_datasource(dict(source))
            report.add("created", "datasource", uid)
        else:
            api.datasource.update_datasource_by_uid(uid, dict(source))
            report.add("updated", "datasource", uid)
    if _find(api.folder.get_folder, FOLDER_UID) is None:
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        report.add("created", "folder", FOLDER_UID)
    for board in boards:
        uid = board["uid"]
        stored = _find(api.dashboard.get_dashboard, uid)
        if stored is not None and _same_dashboard(stored.get("dashboard", {}), board):
            report.add("unchanged", "dashboard", uid)
            continue
        api.dashboard.update_dashboard(
            {
                "dashboard": {**board, "id": None},
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "ccpipe grafana sync",
            }
        )
        report.add("created" if stored is None else "updated", "dashboard", uid)
    return report
