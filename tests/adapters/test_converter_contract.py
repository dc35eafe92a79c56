"""What every converter promises, run against each of them on its life-cycle sample."""

from __future__ import annotations

import json

import orjson
import pytest

from pipeline.adapters import FORMATS, Converter, converter_for
from pipeline.core.events import Rejection, decode_event
from tests.adapters.samples import convert_lines, sample_lines
from tests.adapters.test_lifecycle_kpis import LIFE_CYCLES


def fresh(platform: str) -> Converter:
    life = LIFE_CYCLES[platform]
    return converter_for(life.fmt, **life.options)


def lines_of(platform: str) -> list[bytes]:
    return sample_lines(LIFE_CYCLES[platform].sample)


def test_every_format_has_a_life_cycle_sample() -> None:
    assert sorted(LIFE_CYCLES) == sorted(FORMATS)


@pytest.mark.parametrize("platform", list(LIFE_CYCLES))
def test_is_a_converter(platform: str) -> None:
    converter = fresh(platform)
    assert isinstance(converter, Converter)
    assert converter.source == platform


@pytest.mark.parametrize("platform", list(LIFE_CYCLES))
def test_every_event_is_valid_v1_with_a_unique_id(platform: str) -> None:
    events = convert_lines(fresh(platform), lines_of(platform)).events
    assert events
    for event in events:
        assert not isinstance(decode_event(orjson.dumps(event)), Rejection), event
    ids = [event["event_id"] for event in events]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("platform", list(LIFE_CYCLES))
def test_converting_twice_gives_the_same_ids(platform: str) -> None:
    first = convert_lines(fresh(platform), lines_of(platform)).events
    second = convert_lines(fresh(platform), lines_of(platform)).events
    assert second == first


@pytest.mark.parametrize("platform", list(LIFE_CYCLES))
def test_a_checkpointed_state_resumes_where_it_stopped(platform: str) -> None:
    """Stop after any line, keep the state as JSON, resume in a new converter: the same
    events as one uninterrupted run (what a worker checkpointing its state relies on)."""
    lines = lines_of(platform)
    whole = convert_lines(fresh(platform), lines).events
    for stop in range(len(lines) + 1):
        before = fresh(platform)
        head = convert_lines(before, lines[:stop]).events
        after = fresh(platform)
        after.restore(json.loads(json.dumps(before.state())))
        tail = convert_lines(after, lines[stop:]).events
        assert head + tail == whole, f"resumed after line {stop}"


@pytest.mark.parametrize("platform", list(LIFE_CYCLES))
def test_nothing_is_left_waiting_at_the_end_of_a_whole_life_cycle(platform: str) -> None:
    converter = fresh(platform)
    convert_lines(converter, lines_of(platform))
    assert converter.unresolved() == []


def test_an_unknown_format_or_option_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown input format"):
        converter_for("five9")  # a platform with no converter (yet)
    with pytest.raises(ValueError, match="contact_from"):
        converter_for("asterisk", contact_from="attribute:x")
    with pytest.raises(ValueError, match="channel"):
        converter_for("asterisk", channel="fax")
    with pytest.raises(ValueError, match="TASK=fax"):
        converter_for("connect-ctr", channel_map={"TASK": "fax"})
    with pytest.raises(ValueError, match="customer_from"):
        converter_for("taskrouter", customer_from="endpoint")
