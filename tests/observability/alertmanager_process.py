"""A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback for tests, and a webhook
receiver that records what it is sent: the pages an on-call person would get."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.observability.binaries import need
from tests.observability.compose import ROOT
from tests.stream.worker_process import free_port

CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
START_DEADLINE_S = 20.0


def call(url: str, body: Any = None) -> Any:
    """GET (or POST `body` as JSON) and the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
    return json.loads(text) if text.strip() else None


class AlertmanagerProcess:
    """Alertmanager with `config` (the committed file by default), its state in `folder`."""

    def __init__(self, folder: Path, config: Path = CONFIG) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.address}"
        self.argv = [
            need("alertmanager"),
            f"--config.file={config}",
            f"--storage.path={folder}",
            f"--web.listen-address={self.address}",
            "--cluster.listen-address=",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/-/ready", timeout=1).close()
                return
            except OSError:
                assert self.process.poll() is None, "alertmanager exited at start"
                assert time.monotonic() < deadline, "alertmanager not ready in time"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class WebhookReceiver:
    """An HTTP server that keeps every notification POSTed to it (Alertmanager's webhook
    payload: `status` firing or resolved, and its `alerts`)."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads `notifications`, not a log

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def pages(self, alertname: str, status: str) -> list[dict[str, Any]]:
        """The alerts named `alertname` that were notified with `status`."""
        return [
            alert
            for note in list(self.notifications)
            for alert in note["alerts"]
            if alert["labels"].get("alertname") == alertname and alert["status"] == status
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def paging_config(folder: Path, receiver: str, url: str) -> Path:
    """The committed Alertmanager config with `receiver` delivering to `url` (resolutions
    too), every wait cut to a second so a test sees a page in seconds, not minutes."""
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())

    def quick(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route or route is config["route"]:
                route[key] = "1s"
        for child in route.get("routes", []):
            quick(child)

    quick(config["route"])
    for spec in config["receivers"]:
        if spec["name"] == receiver:
            spec["webhook_configs"] = [{"url": url, "send_resolved": True}]
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
