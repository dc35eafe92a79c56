"""The whole centre's view from publications: merged, versioned, robust to bad input."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from pipeline.config import load_settings
from pipeline.core.clock import US_PER_S, parse_rfc3339
from pipeline.core.intervals import N_COUNTS
from pipeline.core.live import GroupPart
from pipeline.liveview.publication import (
    CATCHING_UP_LAG,
    FORMAT,
    BadPublication,
    Decoder,
    Encoder,
    Publication,
    publication_due,
    source_key,
)
from pipeline.liveview.reader import LatestPerKey
from pipeline.liveview.view import CentreView
from tests.stream.events import mixed_events
from tests.stream.harness import LocalPipeline
from tests.stream.one_board import one_board

SETTINGS = load_settings(env={})
ZONES = SETTINGS.tenant_timezone
T = parse_rfc3339("2026-11-22T10:00:00Z")


def part(queue: str, waiting: list[int], answered: int = 0) -> GroupPart:
    counts = [0] * N_COUNTS
    counts[0] = max(1, answered)
    counts[1] = answered
    counts[6] = -1
    return GroupPart("default", queue, "voice", waiting, 0, [(T - T % 60_000_000, counts)])


def message(
    source: str, version: int, parts: list[GroupPart], watermark: int = T, horizon: int = 0
) -> bytes:
    return Encoder().encode(Publication(source, version, watermark, 1_000, horizon, parts))


def view(partitions: int = 2, now_s: float = 2.0) -> CentreView:
    return CentreView(partitions, ZONES, clock=lambda: now_s)


def test_publications_of_every_partition_merge_into_the_figures_of_one_board() -> None:
    """A partitioned run, each partition published once, merged: the same tiles as one board
    over every segment, channel tiles included."""
    lines = mixed_events(seed=8, contacts=400)
    pipeline = LocalPipeline(SETTINGS, partitions=4)
    pipeline.produce(lines, batch=6)
    pipeline.run(max_messages=4, crash_every=6)
    pipeline.assign_all()
    stage = pipeline.segment_stage
    centre = view(partitions=4)
    for p in range(4):
        published = stage.publications(p, published_ms=1_000)
        assert [key for key, _ in published] == [b"seg:%d/day" % p, b"seg:%d" % p]
        for _, value in published:
            centre.apply(value)
        # Published again unchanged: only the recent part goes (the day part did not change).
        assert [key for key, _ in stage.publications(p, published_ms=2_000)] == [b"seg:%d" % p]
        for _, value in pipeline.fcr_stage.publications(p, published_ms=1_000):
            centre.apply(value)
    state, expected = one_board(lines, SETTINGS)
    assert any(tile.fcr for tile in expected)
    assert centre.watermark_us == state.segments.watermark_us
    assert centre.live(per_channel=True) == expected
    assert centre.status()["present"] == 4 and centre.status()["whole"]


def test_a_lower_version_never_moves_a_figure_back() -> None:
    centre = view()
    assert centre.apply(message("seg:0", 10, [part("q", [T - 30 * US_PER_S])]))
    (tile,) = centre.live()
    assert tile.in_queue == 1
    # A replayed, older publication (the caller answered since) is ignored...
    assert not centre.apply(message("seg:0", 9, [part("q", [], answered=1)]))
    assert centre.live() == [tile]
    assert centre.counts["old"] == 1
    # ...and an equal or newer one replaces the source's whole state.
    assert centre.apply(message("seg:0", 10, [part("q", [], answered=1)]))
    (tile,) = centre.live()
    assert tile.in_queue == 0 and tile.windows["15m"].kpis["answered"] == 1


def test_a_day_part_is_applied_only_with_the_recent_part_of_its_horizon() -> None:
    """A bucket moves from the recent part to the day part when the horizon passes it: the
    two parts of a partition count it once whatever the view holds between the messages."""
    minute = T - T % 60_000_000
    counts = [0] * N_COUNTS
    counts[0], counts[6] = 1, -1
    old, new = minute - 3600_000_000, minute - 3600_000_000 + 900_000_000
    in_recent = GroupPart("default", "q", "voice", [], 0, [(minute - 70 * 60_000_000, counts)])
    in_day = GroupPart("default", "q", "voice", [], 0, [(minute - 75 * 60_000_000, counts)])
    centre = view()
    centre.apply(message("seg:0/day", 1, [], horizon=old))
    assert centre.apply(message("seg:0", 1, [in_recent], horizon=old))
    (tile,) = centre.live()
    assert tile.windows["today"].kpis["offered"] == 1
    # The horizon moves: the new day part waits for its recent part...
    assert not centre.apply(message("seg:0/day", 2, [in_day], horizon=new))
    (tile,) = centre.live()
    assert tile.windows["today"].kpis["offered"] == 1
    # ...and the two apply together.
    assert centre.apply(message("seg:0", 2, [], horizon=new))
    (tile,) = centre.live()
    assert tile.windows["today"].kpis["offered"] == 1
    # A late change to the day (same horizon) applies at once.
    counts2 = list(counts)
    counts2[0] = 2
    late = GroupPart("default", "q", "voice", [], 0, [(minute - 75 * 60_000_000, counts2)])
    assert centre.apply(message("seg:0/day", 3, [late], horizon=new))
    (tile,) = centre.live()
    assert tile.windows["today"].kpis["offered"] == 2


def _published_run(seed: int, partitions: int) -> list[list[tuple[bytes, bytes]]]:
    """The live topic's messages of a partitioned run, one list per step: each partition's
    segment and FCR publications after every batch, as a worker publishes while it goes."""
    lines = mixed_events(seed=seed, contacts=300)
    pipeline = LocalPipeline(SETTINGS, partitions=partitions)
    pipeline.produce(lines, batch=3)
    pipeline.assign_all()
    steps = []
    while pipeline.step(max_messages=4):
        published: list[tuple[bytes, bytes]] = []
        for p in range(partitions):
            published += pipeline.segment_stage.publications(p, published_ms=len(steps))
            published += pipeline.fcr_stage.publications(p, published_ms=len(steps))
        steps.append(published)
    return steps


@pytest.mark.parametrize("seed", [3, 11])
def test_a_reader_catching_up_on_the_last_message_of_each_key_shows_what_reading_all_shows(
    seed: int,
) -> None:
    """What a reader starting cold applies of the topic's uncleaned messages (the last of
    each key, as compaction would leave them) gives the figures of applying every one, at
    every point of the run: day parts that moved horizon included."""
    steps = _published_run(seed, partitions=4)
    days = {key for step in steps for key, _ in step if key.endswith(b"/day")}
    assert len(steps) > 20 and len(days) == 4
    read_all = view(partitions=4)
    so_far: list[tuple[bytes, bytes]] = []
    for step in steps:
        for key, value in step:
            read_all.apply(value)
            so_far.append((key, value))
        latest = LatestPerKey()
        for key, value in so_far:
            latest.add(key, value)
        cold = view(partitions=4)
        values = latest.values()
        cold.superseded(latest.read - len(values))
        for value in values:
            cold.apply(value)
        assert cold.live(per_channel=True) == read_all.live(per_channel=True)
        assert cold.watermark_us == read_all.watermark_us
        assert cold.status() == read_all.status()
        # Three keys a partition (recent, day, FCR): that is all a cold reader decodes.
        assert len(values) <= 12
        assert cold.counts["superseded"] + len(values) == len(so_far)
    assert read_all.counts["applied"] > 10 * cold.counts["applied"]


def test_the_last_message_of_each_key_comes_in_the_order_of_those_messages() -> None:
    latest = LatestPerKey()
    for key, value in [(b"a", b"1"), (b"b", b"2"), (None, b"x"), (b"a", b"3"), (None, b"y")]:
        latest.add(key, value)
    # A message without a key is no publication: each is kept, for the view to refuse.
    assert latest.values() == [b"2", b"x", b"3", b"y"]
    assert latest.read == 5


def test_sources_merge_and_a_source_that_drops_a_group_takes_it_away() -> None:
    centre = view()
    centre.apply(message("seg:0", 1, [part("q", [T - 10 * US_PER_S]), part("r", [T])]))
    centre.apply(message("seg:1", 1, [part("q", [T - 40 * US_PER_S])]))
    tiles = {t.queue: t for t in centre.live()}
    assert (tiles["q"].in_queue, tiles["q"].longest_wait_s) == (2, 40.0)
    centre.apply(message("seg:0", 2, [part("q", [T - 10 * US_PER_S])]))
    assert {t.queue for t in centre.live()} == {"q"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty"),
        (b'{"not": "ours"}', "not a ccpipe live publication"),
        (msgspec.msgpack.encode([FORMAT + 1, "seg:0"]), f"format {FORMAT + 1}"),
        (message("seg:0", 1, [part("q", [T])])[:-7], "damaged"),
        (
            message("seg:0", 1, [GroupPart("default", "q", "voice", [], 0, [(T, [1] * 18)])]),
            "counts of 18 fields",
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason_counted_and_skipped(value: bytes, reason: str) -> None:
    with pytest.raises(BadPublication, match=reason):
        Decoder().decode(value)
    centre = view()
    assert not centre.apply(value)
    assert centre.counts["bad"] == 1
    assert centre.apply(message("seg:0", 1, [part("q", [T])]))  # and the view goes on


def test_status_counts_partitions_and_marks_stale_ones() -> None:
    centre = CentreView(3, ZONES, stale_after_s=30, clock=lambda: 100.0)
    centre.apply(Encoder().encode(Publication(source_key(0), 1, T, 99_000, 0, [])))
    centre.apply(Encoder().encode(Publication(source_key(2), 1, T, 60_000, 0, [])))
    status = centre.status()
    assert status["present"] == 2 and status["missing"] == ["seg:1"]
    assert status["stale"] == ["seg:2"] and status["newest_update_s"] == 1
    assert not status["whole"]


def test_an_unchanged_group_is_decoded_once_and_kept_as_the_same_object() -> None:
    encoder, decoder = Encoder(), Decoder()
    q, r = part("q", [T]), part("r", [T])
    first = decoder.decode(encoder.encode(Publication("seg:0", 1, T, 0, 0, [q, r])))
    second = decoder.decode(encoder.encode(Publication("seg:0", 2, T, 0, 0, [q, part("r", [])])))
    assert first.parts[0] is second.parts[0]
    assert first.parts[1] is not second.parts[1]


def test_pages_waiting_for_a_change_share_one_future_done_by_the_next_change() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        centre = view()
        first, second = centre.next_change(), centre.next_change()
        shared = first is second
        before = first.done()
        centre.apply(message("seg:0", 1, [part("q", [T])]))
        await asyncio.wait_for(first, timeout=10)
        return shared, before, centre.next_change() is not first

    shared, done_before, renewed = asyncio.run(scenario())
    assert shared and not done_before and renewed


def test_a_partition_catching_up_is_published_at_the_heartbeat_only() -> None:
    heartbeat = 5.0
    assert publication_due(False, 0, None, 0.0, heartbeat)  # never published: now
    assert publication_due(True, CATCHING_UP_LAG - 1, 10.0, 10.3, heartbeat)
    assert not publication_due(False, 0, 10.0, 10.3, heartbeat)  # nothing new
    assert not publication_due(True, CATCHING_UP_LAG, 10.0, 10.3, heartbeat)  # behind
    assert publication_due(True, CATCHING_UP_LAG, 10.0, 15.0, heartbeat)  # heartbeat due
    assert publication_due(False, 0, 10.0, 15.0, heartbeat)
