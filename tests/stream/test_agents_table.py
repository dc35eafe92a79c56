"""The agents table holds one record per agent, tenant and hour of changes: after any run,
with crashes, each partition's table holds a record for each hour with a change its state
keeps, with those changes, and no other (an hour whose changes all aged out is deleted); a
rebuild from it gives the agents' live parts a worker that never stopped gives; and a table
written in the format before (one record per agent id) is read and moved to this one."""

from __future__ import annotations

import random

import msgspec
import orjson
import pytest

from pipeline.config import load_settings
from pipeline.core.agents import AgentBoard, AgentPart
from pipeline.core.events import AGENT_STATES, AgentState, decode_event
from pipeline.core.live import local_day_start_us
from pipeline.stream import codec, topology
from pipeline.stream.stage import Output
from pipeline.stream.stages import AGENTS, SegmentStage
from tests.core.builders import at
from tests.stream.harness import LocalPipeline

SETTINGS = load_settings(env={})
HOURS = 60  # beyond `pipeline.core.agents.HISTORY_US`: changes are pruned while the run goes on


def agent_events(seed: int, agents: int = 9) -> list[bytes]:
    """Agents changing state every few minutes for `HOURS`, two tenants, some copies and some
    events late, in delivery order."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    for a in range(agents):
        t = rng.uniform(0, 600)
        n = 0
        while t < HOURS * 3600:
            n += 1
            tenant = "acme" if a % 3 == 0 else "default"
            line = orjson.dumps(
                {
                    "event_id": f"a{a}-{n}",
                    "type": "agent.state",
                    "ts": at(t),
                    "tenant": tenant,
                    "agent_id": f"agent-{a}",
                    "state": rng.choice(AGENT_STATES),
                    "queues": rng.sample(["sales", "support", "billing"], rng.randint(0, 2)),
                }
            )
            lines.append(line)
            if rng.random() < 0.05:
                lines.append(line)  # a copy
            t += rng.expovariate(1 / 900)
    lines.sort(key=lambda line: orjson.loads(line)["ts"])
    for _ in range(len(lines) // 50):  # late: a few moved up to an hour later in delivery
        i = rng.randrange(len(lines))
        lines.insert(min(len(lines), i + rng.randrange(1, 60)), lines.pop(i))
    return lines


def _agents_table(pipeline: LocalPipeline, partition: int) -> set[bytes]:
    segments = pipeline.segment_stage
    return {
        key
        for key, (p, _) in pipeline.tables[AGENTS].items()
        if p == partition and key != segments.watermark_key(partition)
    }


def _parts(board: AgentBoard, now_us: int, agent_ids: set[str]) -> list[AgentPart]:
    zones = SETTINGS.tenant_timezone
    parts = board.export(now_us, lambda tenant: local_day_start_us(now_us, zones(tenant)))
    return sorted((p for p in parts if p.agent_id in agent_ids), key=lambda p: p.agent_id)


def _check(pipeline: LocalPipeline, lines: list[bytes]) -> None:
    """Each partition's table holds what its state keeps, and a rebuild from the table gives
    the parts of a board that was given every event and never pruned."""
    stage = pipeline.segment_stage
    table = pipeline.tables[AGENTS]
    for partition, state in stage.parts.items():
        kept: dict[bytes, set[str]] = {}
        for by_tenant in state.agents.history.values():
            for changes in by_tenant.values():
                for change in changes:
                    start = codec.agent_bucket_start(change.ts_us)
                    key = codec.agent_bucket_key(change.agent_id, change.tenant, start)
                    kept.setdefault(key, set()).add(change.event_id)
        assert _agents_table(pipeline, partition) == set(kept)
        for key, event_ids in kept.items():
            assert event_ids <= {c.event_id for c in codec.decode_agent(table[key][1])}
    rebuilt = SegmentStage(SETTINGS, stage.partitions, SETTINGS.events_topic)
    for partition, state in stage.parts.items():
        rebuilt.assigned(partition, pipeline._table_items(stage, partition))
        now = state.watermark_us
        agent_ids = set(state.agents.history)
        reference = AgentBoard()
        for line in lines:
            event = decode_event(line)
            if isinstance(event, AgentState) and event.agent_id in agent_ids:
                reference.apply(event)
        expected = _parts(reference, now, agent_ids)
        assert expected, "a partition without agents tests nothing"
        assert _parts(rebuilt.parts[partition].agents, now, agent_ids) == expected
        assert _parts(state.agents, now, agent_ids) == expected


@pytest.mark.parametrize("seed", range(6))
def test_the_table_holds_the_changes_kept_and_rebuilds_the_live_parts(seed: int) -> None:
    lines = agent_events(seed)
    pipeline = LocalPipeline(SETTINGS, partitions=1 + seed % 3, seed=seed)
    pipeline.produce(lines, batch=1 + seed % 4)
    pipeline.run(max_messages=5 + seed % 7, crash_every=0 if seed == 0 else 2 + seed % 4)
    assert not pipeline.dlq
    every = {orjson.loads(line)["event_id"] for line in lines}
    held = {
        change.event_id
        for state in pipeline.segment_stage.parts.values()
        for by_tenant in state.agents.history.values()
        for changes in by_tenant.values()
        for change in changes
    }
    assert len(held) < len(every) / 2, "the run must outlast the history kept"
    _check(pipeline, lines)


class WritesSeen(LocalPipeline):
    """Keeps the size of every agents record written."""

    sizes: list[int]

    def apply(self, out: Output, partition: int) -> None:
        self.sizes += [len(v) for t, _, v in out.writes if t == AGENTS and v and v[:1] != b"1"]
        super().apply(out, partition)


def test_a_change_writes_a_small_record() -> None:
    """What made a restore slow: each agent event wrote the agent's last day again. One
    message a batch, as a worker that keeps up takes them."""
    lines = agent_events(seed=1, agents=1)
    pipeline = WritesSeen(SETTINGS, partitions=1)
    pipeline.sizes = []
    pipeline.produce(lines)
    pipeline.run(max_messages=1)
    assert not pipeline.dlq
    assert len(pipeline.sizes) == len(lines)  # a copy writes its hour again
    assert max(pipeline.sizes) < 2_000


@pytest.mark.parametrize("seed", range(3))
def test_a_table_in_the_format_before_is_read_and_moved(seed: int) -> None:
    """Half the events, then the table rewritten as a worker before one record per change
    wrote it (each agent id: all its changes kept, in one value); a restarted worker reads
    it, deletes those records and writes each change on its own."""
    lines = agent_events(seed)
    half = len(lines) // 2
    pipeline = LocalPipeline(SETTINGS, partitions=2, seed=seed)
    pipeline.produce(lines[:half])
    pipeline.run(max_messages=7)
    table = pipeline.tables[AGENTS]
    old: dict[tuple[int, str], list[AgentState]] = {}
    for key, (partition, value) in list(table.items()):
        if codec.is_agent_bucket_key(key):
            for change in codec.decode_agent(value):
                old.setdefault((partition, change.agent_id), []).append(change)
            del table[key]
    for (partition, agent_id), changes in old.items():
        table[agent_id.encode()] = (partition, msgspec.msgpack.encode(changes))
    assert any(not codec.is_agent_bucket_key(k) for k in table)

    pipeline.topology = topology.build(pipeline.settings)  # a restart: states from the tables
    pipeline.produce(lines[half:])
    pipeline.run(max_messages=7, crash_every=3 if seed else 0)
    assert all(
        codec.is_agent_bucket_key(k) or k == pipeline.segment_stage.watermark_key(p)
        for k, (p, _) in table.items()
    )
    _check(pipeline, lines)
