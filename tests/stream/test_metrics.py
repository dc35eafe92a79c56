"""The worker's Prometheus metrics, read from the stages of the in-memory harness."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from pipeline.config import load_settings
from pipeline.core.catalogue import (
    AGENT_TIME,
    FCR_LIVE,
    FCR_WINDOW_ELIGIBLE,
    FCR_WINDOW_RESOLVED,
    OCCUPANCY,
)
from pipeline.core.clock import US_PER_S
from pipeline.core.events import AGENT_STATES
from pipeline.core.intervals import COUNT_FIELDS, merge_counts
from pipeline.liveview.server import centre_view, view_collector
from pipeline.metrics_page import metrics_handler
from pipeline.report import report_from_lines
from pipeline.stream import codec
from pipeline.stream.metrics import (
    CONTACT_COUNTERS,
    PipelineCollector,
    QueueCollector,
    build_registry,
)
from pipeline.stream.stages import HELD, IntervalStage
from tests.stream.events import mixed_events
from tests.stream.harness import LocalPipeline
from tests.stream.one_board import one_board

SETTINGS = load_settings(env={})


def _run() -> tuple[LocalPipeline, list[bytes]]:
    lines = mixed_events(seed=11, contacts=300)
    pipeline = LocalPipeline(SETTINGS, partitions=3)
    pipeline.produce(lines, batch=4)
    pipeline.run(max_messages=5)
    return pipeline, lines


def test_contact_counters_sum_the_interval_rows_per_queue() -> None:
    pipeline, lines = _run()
    registry, _ = build_registry(pipeline)
    expected: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in report_from_lines(lines, SETTINGS):
        key = (row["tenant"], row["queue"], row["channel"])
        for field in ("offered", "answered", "abandoned", "answered_within_sl", "handled"):
            expected[key][field] += row[field]
        expected[key]["wait"] += (row["asa_s"] or 0) * row["answered"]
    assert expected
    for (tenant, queue, channel), fields in expected.items():
        for field in ("offered", "answered", "abandoned", "answered_within_sl", "handled"):
            name = CONTACT_COUNTERS[field][0]
            total = sum(
                registry.get_sample_value(
                    name,
                    {"tenant": tenant, "queue": queue, "channel": channel, "partition": str(p)},
                )
                or 0
                for p in range(3)
            )
            assert total == fields[field], (name, tenant, queue, channel)
        wait = sum(
            registry.get_sample_value(
                "ccpipe_answer_wait_seconds_total",
                {"tenant": tenant, "queue": queue, "channel": channel, "partition": str(p)},
            )
            or 0
            for p in range(3)
        )
        assert abs(wait - fields["wait"]) < 1e-6


def test_live_gauges_health_and_names_follow_conventions() -> None:
    pipeline, _ = _run()
    registry, latency = build_registry(pipeline)
    latency.observe(0.2)
    tiles = {(t.tenant, t.queue): t for t in pipeline.segment_stage.live()}
    for (tenant, queue), tile in tiles.items():
        labels = {"tenant": tenant, "queue": queue}
        assert registry.get_sample_value("ccpipe_queue_waiting_contacts", labels) == tile.in_queue
        window = tile.windows["today"]
        assert (
            registry.get_sample_value(
                "ccpipe_window_contacts_offered", {**labels, "window": "today"}
            )
            == window.counts[0]
        )
    reasons = {"not_json": 1.0, "missing_field": 1.0}
    for reason, count in reasons.items():
        assert (
            registry.get_sample_value("ccpipe_events_dead_lettered_total", {"reason": reason})
            == count
        )
    assert registry.get_sample_value("ccpipe_events_duplicate_total") > 0
    assert (
        registry.get_sample_value(
            "ccpipe_consumer_lag_messages", {"topic": "cc.events", "partition": "0"}
        )
        == 0  # caught up
    )
    pipeline.produce(mixed_events(seed=12, contacts=50), batch=1)
    lag = registry.get_sample_value(
        "ccpipe_consumer_lag_messages", {"topic": "cc.events", "partition": "0"}
    )
    assert lag == len(pipeline.logs["events"].pending(0)) and (lag > 0)
    assert registry.get_sample_value("ccpipe_event_to_metric_seconds_count") == 1
    text = generate_latest(registry).decode()
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            _, _, name, kind = line.split()
            assert name.startswith("ccpipe_"), name
            if kind == "counter":
                assert name.endswith("_total"), name
        if line and not line.startswith("#"):
            assert "contact_id" not in line and "customer" not in line


def test_counters_never_go_down() -> None:
    pipeline, _ = _run()
    registry, _ = build_registry(pipeline)
    labels = next(
        s.labels
        for m in registry.collect()
        if m.name == "ccpipe_contacts_offered"
        for s in m.samples
        if s.value > 0
    )
    before = registry.get_sample_value("ccpipe_contacts_offered_total", labels)
    for totals in pipeline.interval_stage.totals.values():
        for total in totals.values():
            total[:] = [0] * len(total)  # as a newer, smaller partial would move them
    assert registry.get_sample_value("ccpipe_contacts_offered_total", labels) == before


def test_totals_rebuilt_from_the_held_table_equal_the_ones_kept_batch_by_batch() -> None:
    """The counters read totals kept as intervals change; a new owner rebuilds them from the
    table: both must be the sum over the intervals held."""
    pipeline, _ = _run()
    kept = pipeline.interval_stage
    assert kept.totals
    for partition, held in kept.parts.items():
        items = [(text.encode(), codec.encode_held(sources)) for text, sources in held.items()]
        rebuilt = IntervalStage(SETTINGS.queue)
        rebuilt.assigned(partition, {HELD: lambda items=items: iter(items)})
        assert rebuilt.totals[partition] == kept.totals.get(partition, {})
        summed: dict[tuple[str, str, str], list[int]] = {}
        for text, sources in held.items():
            tenant, queue, channel, _ = orjson.loads(text)
            merged = merge_counts(c for _, c in sources.values())
            total = summed.setdefault((tenant, queue, channel), [0] * len(merged))
            for i, field in enumerate(COUNT_FIELDS):
                if field != "max_wait_us":
                    total[i] += merged[i]
        for group, total in kept.totals.get(partition, {}).items():
            for i, field in enumerate(COUNT_FIELDS):
                if field != "max_wait_us":
                    assert total[i] == summed[group][i], (group, field)


def test_per_agent_series_only_when_opted_in() -> None:

    pipeline, _ = _run()
    registry, _ = build_registry(pipeline)
    assert "ccpipe_agent_state" not in generate_latest(registry).decode()
    pipeline.settings = msgspec.structs.replace(SETTINGS, per_agent_metrics=True)
    registry, _ = build_registry(pipeline)
    assert (
        registry.get_sample_value(
            "ccpipe_agent_state", {"tenant": "default", "agent": "a0", "state": "offline"}
        )
        == 1
    )


def test_occupancy_and_fcr_series_sum_to_the_whole_centre_s_figures() -> None:
    """The agent-time and live-FCR gauges of a partitioned run, summed as the recording rules
    sum them, give the figures of one board over every event (what the wallboard shows)."""
    lines = mixed_events(seed=8, contacts=400)
    pipeline = LocalPipeline(SETTINGS, partitions=4)
    pipeline.produce(lines, batch=6)
    pipeline.run(max_messages=4)
    pipeline.assign_all()
    registry, _ = build_registry(pipeline)
    _, tiles = one_board(lines, SETTINGS)
    assert any(tile.fcr for tile in tiles) and any(tile.agent_time for tile in tiles)

    def sample(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    for tile in (tile for tile in tiles if tile.channel is None):
        base = {"tenant": tile.tenant, "queue": tile.queue}
        for window, seconds in tile.agent_time.items():
            time = {
                state: sample(AGENT_TIME.name, **base, window=window, state=state)
                for state in AGENT_STATES
            }
            assert [time[state] for state in AGENT_STATES] == pytest.approx(
                [held / US_PER_S for held in seconds]
            )
            top = sum(time[state] for state in OCCUPANCY.numerator)
            bottom = sum(time[state] for state in OCCUPANCY.denominator)
            assert (top / bottom if bottom else None) == pytest.approx(tile.occupancy(window))
        for live in FCR_LIVE:
            got = (
                sample(FCR_WINDOW_RESOLVED.name, **base, window=live.window),
                sample(FCR_WINDOW_ELIGIBLE.name, **base, window=live.window),
            )
            assert got == tile.fcr.get(live.name, (0, 0)), (tile.queue, live.name)


def _names(families: Iterable[Metric]) -> set[str]:
    return {family.name for family in families}


@pytest.mark.parametrize("per_agent", [False, True])
def test_each_collector_describes_exactly_the_families_it_makes(per_agent: bool) -> None:
    """A scrape restricted by `name[]` picks collectors by what they describe: a family made
    but not described would vanish from such a scrape, one described but not made would run
    a collector for nothing."""
    pipeline, _ = _run()
    pipeline.settings = msgspec.structs.replace(SETTINGS, per_agent_metrics=per_agent)
    collectors: list[Any] = [
        QueueCollector(pipeline),
        PipelineCollector(pipeline),
        view_collector(centre_view(SETTINGS), SETTINGS),
    ]
    for collector in collectors:
        assert _names(collector.describe()) == _names(collector.collect()), collector
    assert ("ccpipe_agent_state" in _names(collectors[0].describe())) is per_agent


class _Counted(QueueCollector):
    calls = 0

    def collect(self) -> Iterator[Metric]:
        type(self).calls += 1
        return super().collect()


def _scrape(registry: CollectorRegistry, query: str) -> str:
    handler = metrics_handler(registry)
    response = asyncio.run(handler(make_mocked_request("GET", f"/metrics{query}")))
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)
    return response.body.decode()


def test_a_scrape_restricted_by_name_runs_only_the_collectors_that_make_those_names() -> None:
    pipeline, _ = _run()
    registry = CollectorRegistry()
    registry.register(_Counted(pipeline))
    registry.register(PipelineCollector(pipeline))
    whole = _scrape(registry, "")
    assert _Counted.calls == 1 and "ccpipe_window_contacts_offered" in whole
    watermark = "ccpipe_event_time_watermark_seconds"
    some = _scrape(registry, f"?name[]=ccpipe_events_total&name[]={watermark}")
    assert _Counted.calls == 1  # the live figures were not computed
    lines = [line for line in some.splitlines() if not line.startswith("#")]
    assert {line.split("{")[0].split(" ")[0] for line in lines} == {
        "ccpipe_events_total",
        watermark,
    }
    events = [line for line in whole.splitlines() if line.startswith("ccpipe_events_total ")]
    assert events and events[0] in lines
    offered = "ccpipe_window_contacts_offered"
    assert offered in _scrape(registry, f"?name[]={offered}")
    assert _Counted.calls == 2
