"""docker-compose.yml as the tests read it: each service's command, resolved by
`docker-compose config` when it is installed (anchors and merges applied), else by PyYAML."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# Where the compose file mounts deploy/ccpipe.yaml in the ccpipe containers.
CONTAINER_CONFIG = "/etc/ccpipe/ccpipe.yaml"


@cache
def services() -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    if binary is not None:
        done = subprocess.run(
            [binary, "-f", str(COMPOSE), "config"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        resolved: dict[str, Any] = yaml.safe_load(done.stdout)["services"]
        return resolved
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return loaded


def command(service: str) -> list[str]:
    spec = services()[service]
    value = spec["command"]
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def host_path(service: str, container_path: str) -> Path:
    """The file of the repository a service sees at `container_path`."""
    for volume in services()[service].get("volumes", []):
        source, target = (
            (volume["source"], volume["target"])
            if isinstance(volume, dict)
            else volume.split(":")[:2]
        )
        if target == container_path:
            return (ROOT / source).resolve()
    raise LookupError(f"{service} mounts nothing at {container_path}")
