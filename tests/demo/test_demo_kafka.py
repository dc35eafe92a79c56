"""`ccpipe demo --broker URL`: the same demo on a real Apache Kafka instead of tansu."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.config import Settings
from tests.demo.demo_process import running_demo, sorted_rows
from tests.stream.worker_process import ccpipe_command, child_environment, forget_group

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_the_demo_runs_on_a_real_kafka(
    kafka_settings: Settings, topic_prefix: str, tmp_path: Path
) -> None:
    s = kafka_settings
    app_id = f"{topic_prefix}-ccpipe"
    config = tmp_path / "ccpipe.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "events_topic": s.events_topic,
                "dlq_topic": s.dlq_topic,
                "intervals_topic": s.intervals_topic,
                "segments_topic": s.segments_topic,
                "live_topic": s.live_topic,
                "ingest_topic": s.ingest_topic,
                "ingest_group": s.ingest_group,
                "ingest_state_topic": s.ingest_state_topic,
                "app_id": app_id,
                "state_dir": str(tmp_path / "state"),
            }
        )
    )
    events = tmp_path / "events.jsonl"
    try:
        with running_demo(
            tmp_path / "demo",
            *("--broker", s.broker, "--config", str(config), "--speed", "0"),
            *("--until", "2026-11-23T09:30:00Z", "--events-file", str(events)),
        ) as demo:
            demo.wait_for_output("feed finished", 90)
            output = demo.output()
            assert "tansu" not in output and f"Broker     {s.broker}" in output
            sent = sum(1 for line in events.read_bytes().splitlines() if line.strip())
            demo.wait_until(
                lambda: demo.metrics().get(("ccpipe_events_total", ())) == sent,
                60,
                "the worker processing every event",
            )
            assert demo.interrupt(deadline_s=120) == 0, demo.output()
            assert "everything sent is in the store" in demo.output()
        env = child_environment()
        stored = subprocess.run(
            [*ccpipe_command(), "sql", "--store", demo.store, "--format", "jsonl",
             "SELECT * FROM kpi_interval_report"],
            capture_output=True, env=env, check=True,
        ).stdout  # fmt: skip
        report = subprocess.run(
            [*ccpipe_command(), "kpis", str(events), "--format", "jsonl"],
            capture_output=True, env=env, check=True,
        ).stdout  # fmt: skip
        assert sorted_rows(stored) == sorted_rows(report) != []
    finally:
        forget_group(s, f"{app_id}-sink", topic_prefix)
        forget_group(s, s.ingest_group, topic_prefix)
        forget_group(s, app_id, topic_prefix)
