"""The stream's stages, run over in-memory partitions, give `ccpipe kpis`'s rows exactly:
with any partition count, batch sizes, and crashes that lose un-flushed output."""

from __future__ import annotations

import orjson
import pytest

from pipeline.config import load_settings
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.report import report_from_lines
from tests.stream.events import mixed_events
from tests.stream.harness import LocalPipeline

SETTINGS = load_settings(env={})


def _expected(lines: list[bytes]) -> list[dict[str, object]]:
    return [{f: r[f] for f in REPORT_FIELDS} for r in report_from_lines(lines, SETTINGS)]


@pytest.mark.parametrize(
    ("partitions", "batch", "max_messages"), [(1, 1, 1000), (4, 1, 7), (3, 20, 2)]
)
def test_stages_equal_the_offline_report(partitions: int, batch: int, max_messages: int) -> None:
    lines = mixed_events(seed=partitions)
    pipeline = LocalPipeline(SETTINGS, partitions)
    pipeline.produce(lines, batch=batch)
    pipeline.run(max_messages=max_messages)
    assert pipeline.rows() == _expected(lines)
    # The two bad lines are dead-lettered with their reasons; nothing else is.
    reasons = sorted(h["reason"].decode() for _, h in pipeline.dlq)
    assert len(reasons) == 2
    assert any("not JSON" in r for r in reasons)
    assert any("missing required field" in r for r in reasons)


@pytest.mark.parametrize("seed", range(16))
def test_crashes_that_lose_unflushed_output_change_nothing(seed: int) -> None:
    """Each crash loses half of a batch's writes and sends at random and commits nothing."""
    lines = mixed_events(seed=seed, contacts=120)
    pipeline = LocalPipeline(SETTINGS, partitions=1 + seed % 4, seed=seed)
    pipeline.produce(lines, batch=1 + seed % 7)
    pipeline.run(max_messages=1 + seed % 5, crash_every=2 + seed % 5)
    assert pipeline.rows() == _expected(lines)


@pytest.mark.parametrize("seed", range(8))
def test_states_kept_across_rebalances_give_the_same_rows(seed: int) -> None:
    """A rebalance that gives the partitions back keeps their states (nothing read from
    the tables). The batch before each one is durable but uncommitted, so the kept states
    see its messages again, as rebuilt ones would; crashes in between lose output."""
    lines = mixed_events(seed=seed, contacts=120)
    partitions = 1 + seed % 4
    pipeline = LocalPipeline(SETTINGS, partitions=partitions, seed=seed)
    pipeline.produce(lines, batch=1 + seed % 7)
    crash_every = 0 if seed % 2 else 7
    pipeline.run(max_messages=1 + seed % 5, crash_every=crash_every, rebalance_every=2 + seed % 3)
    assert pipeline.rows() == _expected(lines)
    if crash_every:
        return  # a crash starts the stages afresh, with counters at zero
    for stage in pipeline.topology.stages:
        assert stage.counters.kept > 0, stage.name
        # Built from the tables once per partition (at the first assignment), never again.
        assert stage.counters.rebuilt <= partitions, stage.name


def test_a_changed_customer_is_withdrawn_even_after_a_crash() -> None:
    base = mixed_events(seed=5, contacts=60)
    # The contact's earlier offer names another customer: its FCR fact moves there.
    from tests.core.builders import offered

    moved = [
        orjson.dumps(offered(3000, "c7", queue="sales", customer_id="u1")),
        orjson.dumps(offered(10, "c7", queue="sales", customer_id="u-other")),
    ]
    lines = base + moved
    for seed in range(6):
        pipeline = LocalPipeline(SETTINGS, partitions=2, seed=seed)
        pipeline.produce(lines, batch=3)
        pipeline.run(max_messages=2, crash_every=3)
        assert pipeline.rows() == _expected(lines)


def test_replaying_everything_twice_changes_nothing() -> None:
    lines = mixed_events(seed=9)
    pipeline = LocalPipeline(SETTINGS, partitions=2)
    pipeline.produce(lines, batch=10)
    pipeline.produce(lines, batch=3)
    pipeline.run(max_messages=4)
    assert pipeline.rows() == _expected(lines)


def test_live_figures_over_partitions_equal_one_board_over_all_segments() -> None:
    from pipeline.core.events import decode_message
    from pipeline.core.kpi_state import KpiState
    from pipeline.core.live import LiveBoard, snapshot_many

    lines = mixed_events(seed=4, contacts=400)
    pipeline = LocalPipeline(SETTINGS, partitions=3)
    pipeline.produce(lines, batch=5)
    pipeline.run(max_messages=3, crash_every=5)
    pipeline.assign_all()  # rebuilt from the tables, as after the last crash
    state = KpiState(SETTINGS.queue)
    for line in lines:
        state.apply(decode_message(line)[0])
    state.flush()
    board = LiveBoard.from_segments(
        state.segments.segments.values(), state.segments.queue_config, SETTINGS.tenant_timezone
    )
    expected = snapshot_many(
        [board], state.segments.watermark_us, SETTINGS.tenant_timezone, [state.segments.agents]
    )
    got = pipeline.segment_stage.live()
    assert [f.as_dict() for f in got] == [f.as_dict() for f in expected]
    # The transferred contacts wait in billing, never answered; the far-future event (8 days
    # on) makes them stale: counted apart from the waiting.
    assert sum(f.stale for f in got) > 0
