"""`ccpipe sink` takes its batching and ports from the settings; a flag overrides one."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.cli import main
from pipeline.config import Settings
from pipeline.sink import service
from pipeline.sink.policy import FlushPolicy
from pipeline.sink.service import SinkOptions, flush_policy


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Settings, SinkOptions]]:
    """What the command would start the sink with (nothing is started)."""
    calls: list[tuple[Settings, SinkOptions]] = []

    def run_sink(settings: Settings, options: SinkOptions) -> int:
        calls.append((settings, options))
        return 0

    monkeypatch.setattr(service, "run_sink", run_sink)
    for name in ("CCPIPE_CONFIG", "CCPIPE_SINK_BATCH_ROWS", "CCPIPE_SINK_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_the_settings_hold_the_defaults(started: list[Any]) -> None:
    assert main(["sink"]) == 0
    (settings, options), defaults = started[0], Settings()
    assert flush_policy(settings) == FlushPolicy(
        rows=defaults.sink_batch_rows, seconds=defaults.sink_batch_seconds
    )
    assert (settings.sink_metrics_port, settings.sink_sql_port) == (
        defaults.sink_metrics_port,
        defaults.sink_sql_port,
    )
    assert options == SinkOptions()


def test_a_flag_overrides_the_setting(started: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCPIPE_SINK_BATCH_ROWS", "300")
    monkeypatch.setenv("CCPIPE_SINK_METRICS_PORT", "7000")
    args = ["sink", "--batch-seconds", "0.5", "--metrics-port", "0", "--group", "g"]
    assert main([*args, "--no-migrate"]) == 0
    settings, options = started[0]
    assert flush_policy(settings) == FlushPolicy(rows=300, seconds=0.5)
    assert settings.sink_metrics_port == 0
    assert options == SinkOptions(group="g", migrate=False)


def test_a_batch_size_it_cannot_use_stops_it_before_it_starts(
    started: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sink", "--batch-rows", "0"]) == 2
    assert "option --batch-rows: key `sink_batch_rows`: expected a whole number >= 1, got 0" in (
        capsys.readouterr().err
    )
    assert started == []
