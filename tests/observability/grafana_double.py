"""A stand-in for Grafana's HTTP API, on loopback, for `ccpipe grafana sync`.

Grafana's server cannot run here, so this answers the endpoints the sync uses as Grafana's
HTTP API documents them, and refuses what Grafana refuses: a missing or wrong bearer token
(401), an unknown uid (404), a second data source or folder with a taken uid or name (409),
a data source without name/type/access or a dashboard without uid/title (400), and a
dashboard that exists, posted without `overwrite` (412). Every request is recorded.

    POST /api/datasources              GET|PUT /api/datasources/uid/:uid
    POST /api/folders                  GET /api/folders/:uid
    POST /api/dashboards/db            GET /api/dashboards/uid/:uid
    GET  /api/search?dashboardUIDs=...
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Json = dict[str, Any]


@dataclass
class GrafanaState:
    token: str
    datasources: dict[str, Json] = field(default_factory=dict)
    folders: dict[str, Json] = field(default_factory=dict)
    dashboards: dict[str, Json] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState
    lock: threading.Lock

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Json | None:
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return None
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        with self.lock:
            self.state.requests.append((method, url.path))
            if self.headers.get("Authorization") != f"Bearer {self.state.token}":
                return self._reply(401, {"message": "Unauthorized"})
            body = self._body() if method in ("POST", "PUT") else {}
            if body is None:
                return self._reply(400, {"message": "bad request data"})
            status, reply = self._route(method, url.path.rstrip("/").split("/"), url.query, body)
        self._reply(status, reply)

    def _route(self, method: str, parts: list[str], query: str, body: Json) -> tuple[int, Any]:
        s = self.state
        match (method, parts[1:]):
            case ("GET", ["api", "datasources", "uid", uid]):
                found = s.datasources.get(uid)
                return (200, found) if found else (404, {"message": "Data source not found"})
            case ("POST", ["api", "datasources"]):
                if not all(body.get(k) for k in ("name", "type", "access")):
                    return 400, {"message": "name, type and access are required"}
                taken = [d for d in s.datasources.values() if d["name"] == body["name"]]
                if body.get("uid") in s.datasources or taken:
                    return 409, {"message": "data source with the same name or uid already exists"}
                stored = {**body, "id": s.new_id(), "uid": body.get("uid") or f"u{s.next_id}"}
                stored.pop("secureJsonData", None)
                s.datasources[stored["uid"]] = stored
                return 200, {
                    "datasource": stored,
                    "id": stored["id"],
                    "message": "Datasource added",
                }
            case ("PUT", ["api", "datasources", "uid", uid]):
                if uid not in s.datasources:
                    return 404, {"message": "Data source not found"}
                if not all(body.get(k) for k in ("name", "type", "access")):
                    return 400, {"message": "name, type and access are required"}
                stored = {**body, "id": s.datasources[uid]["id"], "uid": uid}
                stored.pop("secureJsonData", None)
                s.datasources[uid] = stored
                return 200, {"datasource": stored, "message": "Datasource updated"}
            case ("GET", ["api", "folders", uid]):
                found = s.folders.get(uid)
                return (200, found) if found else (404, {"message": "folder not found"})
            case ("POST", ["api", "folders"]):
                if not body.get("title"):
                    return 400, {"message": "folder title cannot be empty"}
                if body.get("uid") in s.folders:
                    return 409, {"message": "a folder with the same uid already exists"}
                folder = {"id": s.new_id(), "uid": body.get("uid"), "title": body["title"]}
                s.folders[folder["uid"]] = folder
                return 200, folder
            case ("GET", ["api", "dashboards", "uid", uid]):
                found = s.dashboards.get(uid)
                if not found:
                    return 404, {"message": "Dashboard not found"}
                return 200, {
                    "dashboard": found["dashboard"],
                    "meta": {"folderUid": found["folder"]},
                }
            case ("POST", ["api", "dashboards", "db"]):
                board = body.get("dashboard")
                if not isinstance(board, dict) or not board.get("uid") or not board.get("title"):
                    return 400, {"message": "dashboard with a uid and a title is required"}
                uid = board["uid"]
                old = s.dashboards.get(uid)
                if old and body.get("overwrite") is not True:
                    return 412, {"status": "name-exists", "message": "dashboard exists"}
                folder_uid = str(body.get("folderUid") or "")
                if folder_uid and folder_uid not in s.folders:
                    return 400, {"message": "folder not found"}
                version = old["dashboard"]["version"] + 1 if old else 1
                ident = old["dashboard"]["id"] if old else s.new_id()
                stored = {**board, "id": ident, "version": version}
                s.dashboards[uid] = {"dashboard": stored, "folder": folder_uid}
                return 200, {"id": ident, "uid": uid, "status": "success", "version": version}
            case ("GET", ["api", "search"]):
                uids = parse_qs(query).get("dashboardUIDs", [])
                return 200, [
                    {"uid": u, "title": d["dashboard"]["title"], "type": "dash-db"}
                    for u, d in s.dashboards.items()
                    if not uids or u in uids
                ]
        return 404, {"message": "Not found"}

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")


@contextmanager
def grafana_double(token: str) -> Iterator[tuple[str, GrafanaState]]:
    """(base URL, state) of a running stand-in; stopped on exit."""
    state = GrafanaState(token)
    handler = type("Handler", (_Handler,), {"state": state, "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
