"""A real Prometheus (Debian's `prometheus`) on loopback for tests, run as docker-compose.yml
runs it: the compose service's flags and deploy/prometheus/prometheus.yml with the committed
rules, with only the addresses, the paths and the intervals changed (1 s scrape and rule
evaluation, so a test waits seconds, not minutes); a test may give rules generated from its
own settings and an Alertmanager to send the alerts to."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pipeline.core.catalogue import WORKER_JOB
from tests.log_tail import log_tail
from tests.observability.compose import ROOT, command

DEPLOY = ROOT / "deploy" / "prometheus"
START_DEADLINE_S = 30.0
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], deadline_s: float, what: str) -> T:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def local_config(
    targets: dict[str, list[str]],
    self_target: str,
    rules: Path = DEPLOY,
    alertmanager: str | None = None,
) -> dict[str, Any]:
    """prometheus.yml with each job's targets from `targets` (a job not named there scrapes
    Prometheus itself), the rule files of `rules/` under `rules` (deploy/prometheus, the
    committed ones, by default), and alerts sent to `alertmanager` when given."""
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(rules / pattern) for pattern in config["rule_files"]]
    if alertmanager is None:
        config.pop("alerting")  # no Alertmanager here; the alerts are still evaluated
    else:
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets.get(job["job_name"], [self_target])}]
    return config


class PrometheusProcess:
    def __init__(
        self,
        binary: str,
        folder: Path,
        port: int,
        worker_targets: list[str],
        jobs: Mapping[str, list[str]] | None = None,
        *,
        rules: Path = DEPLOY,
        alertmanager: str | None = None,
    ) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.config = folder / "prometheus.yml"
        every = {WORKER_JOB: worker_targets, **(jobs or {})}
        self.config.write_text(
            yaml.safe_dump(local_config(every, f"127.0.0.1:{port}", rules, alertmanager)),
            encoding="utf-8",
        )
        flags = []
        for flag in command("prometheus"):
            if flag.startswith("--config.file="):
                flag = f"--config.file={self.config}"
            elif flag.startswith("--storage.tsdb.path="):
                flag = f"--storage.tsdb.path={folder / 'data'}"
            flags.append(flag)
        self.argv = [binary, *flags, f"--web.listen-address=127.0.0.1:{port}"]
        self.log_path = folder / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

        def ready() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, f"prometheus exited:\n{self.log_tail()}"
            try:
                urllib.request.urlopen(f"{self.base}/-/ready", timeout=1).close()
            except OSError:
                return False
            return True

        wait_for(ready, START_DEADLINE_S, "Prometheus to be ready")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def _get(self, path: str, **params: str | list[str]) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.base}{path}?{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant vector query now: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        data = self._get("/api/v1/query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def label_values(self, label: str, selector: str) -> list[str]:
        values: list[str] = self._get(f"/api/v1/label/{label}/values", **{"match[]": [selector]})
        return values

    def rule_health(self) -> list[dict[str, Any]]:
        groups = self._get("/api/v1/rules")["groups"]
        return [rule for group in groups for rule in group["rules"]]
