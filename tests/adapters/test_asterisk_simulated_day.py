"""A simulated day written as an Asterisk queue_log converts back to the same report.

`ccpipe simulate` makes a day; the test writes its voice calls as the queue_log Asterisk
would have logged (queue_log_writer.py), converts that back with the asterisk adapter, and
compares the reports. queue_log keeps whole seconds, one talk time with holds inside, no
survey and no resolution: the reference is the simulated day reduced to exactly that, and
the two reports must then agree on every field. Against the raw simulation, the counts that
resolution cannot change must agree as they stand.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

from pipeline.adapters import converter_for
from pipeline.config import load_settings
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.report import report_from_lines
from pipeline.simulator import Disorder, simulate_events
from tests.adapters.queue_log_writer import (
    ACW_REASON,
    QueueLogWriter,
    as_queue_log_sees,
    voice_events,
)
from tests.adapters.samples import convert_lines

# A whole day (the simulator spreads up to a full day's volume over one day) at half the
# default volume, to keep the test to a few seconds.
CONTACTS = 10_000
SEED = 11


@cache
def simulated_day() -> tuple[dict[str, Any], ...]:
    return tuple(simulate_events(CONTACTS, SEED, disorder_spec=Disorder(0, 0)))


def report(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return report_from_lines([orjson.dumps(e) for e in events], load_settings(env={}))


@cache
def round_trip() -> tuple[list[str], list[dict[str, Any]], list[tuple[int, str]]]:
    lines = QueueLogWriter().write(simulated_day())
    converter = converter_for("asterisk", customer_from="callerid", acw_pause_reason=ACW_REASON)
    conversion = convert_lines(converter, [line.encode() for line in lines])
    return lines, conversion.events, conversion.dead


def test_the_queue_log_of_a_simulated_day_reports_what_the_day_reports() -> None:
    lines, events, dead = round_trip()
    assert dead == []
    # A real day: thousands of calls, every kind of line the mapping reads.
    verbs = {line.split("|")[4] for line in lines}
    assert {
        "ENTERQUEUE",
        "CONNECT",
        "ABANDON",
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "BLINDTRANSFER",
        "PAUSE",
        "UNPAUSE",
        "ADDMEMBER",
        "REMOVEMEMBER",
    } <= verbs
    converted = report(events)
    expected = report(as_queue_log_sees(simulated_day()))
    assert len(expected) > 100
    assert [row["channel"] for row in converted] == ["voice"] * len(converted)
    for got, want in zip(converted, expected, strict=True):
        assert {f: got[f] for f in REPORT_FIELDS} == {f: want[f] for f in REPORT_FIELDS}
    # The reduction is not hiding anything: it kept the day's wrap-ups, transfers, short
    # abandons and repeat callers.
    totals = {
        name: sum(row[name] for row in converted)
        for name in ("short_abandoned", "abandoned", "transferred", "fcr_pending")
    }
    assert min(totals.values()) > 0, totals
    assert sum(1 for e in events if e["type"] == "contact.wrapup_ended") > 5000


def test_counts_agree_with_the_raw_simulation() -> None:
    """Whole seconds move waits and durations by less than a second; never a count."""
    _, events, _ = round_trip()
    converted = {(r["queue"], r["interval_start"]): r for r in report(events)}
    raw = [
        row
        for row in report([e for e in voice_events(simulated_day()) if e["type"] != "agent.state"])
        if row["channel"] == "voice"
    ]
    assert len(raw) == len(converted)
    for row in raw:
        got = converted[row["queue"], row["interval_start"]]
        for name in ("offered", "answered", "handled", "transferred"):
            assert got[name] == row[name], (name, row["queue"], row["interval_start"])
        assert (
            got["abandoned"] + got["short_abandoned"] == row["abandoned"] + row["short_abandoned"]
        )
        if row["answered"]:
            assert abs(got["asa_s"] - row["asa_s"]) < 1
        if row["handled"]:
            # Talk + hold and ACW each lose under a second to whole-second clocks.
            assert abs(got["aht_s"] - row["aht_s"]) < 2
