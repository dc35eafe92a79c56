"""`ccpipe staffing history` against the core on the same simulated day: each interval's
required agents from its own counts, and the agents on the floor from the agents' states."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
import pytest

from pipeline.cli import main
from pipeline.config import Settings, load_settings
from pipeline.core.agents import interval_seconds
from pipeline.core.clock import INTERVAL_US, US_PER_S, format_utc
from pipeline.core.erlang import ServiceTarget, Traffic, required_agents
from pipeline.core.events import AGENT_STATES, AgentState
from pipeline.core.intervals import COUNT_FIELDS
from pipeline.core.kpi_state import KpiState
from pipeline.core.staffing import PATIENCE_RATIO_LIMIT
from pipeline.store import open_store
from pipeline.store.migrations import load_migrations, migrate
from tests.store.fill import fill, simulated

SETTINGS: Settings = load_settings(env={})
DAY = "2026-11-23"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"chdb://{tmp_path_factory.mktemp('staffing-history') / 'store'}"
    events = simulated(1500, seed=5)
    store = open_store(url)
    try:
        migrate(store, load_migrations())
        fill(store, events, SETTINGS)
    finally:
        store.close()
    return {"url": url, "events": events}


def history(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, Any]]:
    argv = ["staffing", "history", "--from", DAY, "--to", DAY, "--store", url]
    assert main([*argv, "--format", "jsonl", *extra]) == 0, capsys.readouterr().err
    return [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]


def expected_required(counts: dict[str, int], target: ServiceTarget) -> int | None:
    """The core's figures by hand: offers over the interval, AHT, patience (MLE)."""
    if not counts["offered"]:
        return 0
    if not counts["handled"]:
        return None
    aht = counts["handle_sum_us"] / counts["handled"] / US_PER_S
    abandons = counts["abandoned"] + counts["short_abandoned"]
    exposure = (counts["wait_answered_sum_us"] + counts["wait_abandoned_sum_us"]) / US_PER_S
    patience = None
    if abandons >= SETTINGS.targets.staffing.min_abandons and exposure > 0:
        patience = exposure / abandons
        if patience > PATIENCE_RATIO_LIMIT * aht:
            patience = None
    traffic = Traffic(counts["offered"] / (INTERVAL_US / US_PER_S), aht, patience)
    return required_agents(traffic, target).agents


def on_floor(events: list[Any]) -> dict[tuple[str, int], float]:
    """Average agents available, busy or in ACW per (queue, interval), from the states."""
    by_agent: dict[str, list[AgentState]] = defaultdict(list)
    for event in events:
        if isinstance(event, AgentState):
            by_agent[event.agent_id].append(event)
    until = max(event.ts_us for event in events)
    floor = [AGENT_STATES.index(s) for s in ("available", "busy", "acw")]
    out: dict[tuple[str, int], float] = defaultdict(float)
    for changes in by_agent.values():
        unique = {e.event_id: e for e in changes}.values()
        ordered = sorted(unique, key=lambda e: (e.ts_us, e.event_id))
        for (start, queue), seconds in interval_seconds(ordered, until, INTERVAL_US).items():
            if queue:
                out[(queue, start)] += sum(seconds[i] for i in floor) / INTERVAL_US
    return out


def test_each_interval_equals_the_core_s_advice_and_the_agents_states(
    day: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CCPIPE_CONFIG", raising=False)
    rows = history(day["url"], capsys)
    state = KpiState(SETTINGS.queue)
    state.apply(day["events"])
    state.flush()
    staffed = on_floor(day["events"])
    keys = state.segments.intervals.keys()
    by_key = {(format_utc(key.interval_start_us), key.queue, key.channel): key for key in keys}
    assert len(rows) > 50
    advised = 0
    for row in rows:
        key = by_key[(row["interval_start"], row["queue"], row["channel"])]
        counts = dict(zip(COUNT_FIELDS, state.interval_counts(key), strict=True))
        config = SETTINGS.queue(key.tenant, key.queue, key.channel)
        target = SETTINGS.targets.service_target(key.tenant, key.queue, key.channel, config)
        assert target is not None
        assert row["required"] == expected_required(counts, target), row
        assert row["staffed"] == pytest.approx(
            staffed.get((key.queue, key.interval_start_us), 0.0), abs=0.01
        ), row
        advised += row["required"] is not None and row["required"] > 0
    assert advised > 30
    assert any(row["staffed"] > 0 for row in rows)


def test_a_shorter_threshold_needs_more_agents(
    day: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CCPIPE_CONFIG", raising=False)
    base = history(day["url"], capsys)
    strict = history(day["url"], capsys, "--sl-threshold-s", "3")
    pairs = [(a["required"], b["required"]) for a, b in zip(base, strict, strict=True)]
    assert all(b >= a for a, b in pairs if a is not None and b is not None)
    assert any(b > a for a, b in pairs if a is not None and b is not None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "2026-11-24", "--to", "2026-11-23"], "is before --from"),
        (["--sl-target", "1.5"], "--sl-target must be between 0 and 1"),
        (["--queue", "no-such-queue"], "no stored interval in that range for queue no-such"),
    ],
)
def test_bad_input_gets_a_clear_error(
    day: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("CCPIPE_CONFIG", raising=False)
    argv = ["staffing", "history", "--from", DAY, "--to", DAY, "--store", day["url"], *extra]
    assert main(argv) != 0
    assert message in capsys.readouterr().err
