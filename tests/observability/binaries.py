"""The Prometheus tools the tests run: Debian's packages (`apt-get install prometheus
prometheus-alertmanager docker-compose`); a test skips, naming the package, when one is absent."""

from __future__ import annotations

import shutil

import pytest

PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "alertmanager": "prometheus-alertmanager",
    "docker-compose": "docker-compose",
}


# Debian names the Alertmanager binary after its package.
ALIASES = {"alertmanager": ("alertmanager", "prometheus-alertmanager")}


def need(name: str) -> str:
    """The binary's path, or skip the test with the Debian package that provides it."""
    found = None
    for candidate in ALIASES.get(name, (name,)):
        found = found or shutil.which(candidate) or shutil.which(candidate, path="/usr/bin")
    if found is None:
        pytest.skip(f"`{name}` is not installed (apt-get install -y {PACKAGES[name]})")
    return found
