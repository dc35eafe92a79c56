"""`ccpipe staffing erlang` as a planner runs it: the answer, the rows, JSON, and bad input."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from pipeline.core.erlang import Traffic, performance

PUBLISHED = (
    "--offered", "100", "--interval-s", "1800", "--aht-s", "180",
    "--sl-threshold-s", "20", "--sl-target", "0.8",
)  # fmt: skip


def ccpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "staffing", "erlang", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_has_the_required_agents_and_a_row_per_count_around_them() -> None:
    result = ccpipe(*PUBLISHED, "--format", "json")
    assert result.returncode == 0, result.stderr
    answer = orjson.loads(result.stdout)
    assert answer["required_agents"] == answer["required_on_floor"] == 14
    assert answer["model"] == "erlang_c" and answer["limited_by"] == "service level"
    rows = answer["rows"]
    assert [r["agents"] for r in rows] == list(range(11, 18))
    assert all(set(r) == {"agents", "p_wait", "service_level", "asa_s", "occupancy"} for r in rows)
    by_agents = {r["agents"]: r for r in rows}
    assert [round(by_agents[n]["service_level"], 4) for n in (11, 12, 13, 14)] == [
        0.3896,
        0.6402,
        0.7956,
        0.8884,
    ]
    assert [round(by_agents[n]["asa_s"], 1) for n in (11, 12, 13, 14)] == [122.8, 40.4, 17.1, 7.8]


def test_erlang_c_rows_start_above_the_load() -> None:
    # 10 Erlangs needs 11 for 10 % in 20 s: no row for 10 agents or fewer, which never catch up.
    result = ccpipe(*PUBLISHED[:-1], "0.1", "--format", "json")
    answer = orjson.loads(result.stdout)
    assert answer["required_on_floor"] == 11
    assert [r["agents"] for r in answer["rows"]] == [11, 12, 13, 14]


def test_patience_switches_to_erlang_a_with_abandons_and_mean_wait() -> None:
    args = (*PUBLISHED, "--patience-s", "120", "--short-abandon-s", "5", "--format", "json")
    result = ccpipe(*args, "--shrinkage", "0.3", "--max-occupancy", "0.75")
    assert result.returncode == 0, result.stderr
    answer = orjson.loads(result.stdout)
    assert answer["model"] == "erlang_a"
    assert answer["required_on_floor"] == 13 and answer["limited_by"] == "occupancy"
    assert answer["required_agents"] == 19  # 13 / 0.7 = 18.6
    traffic = Traffic(100 / 1800, 180, 120)
    for row in answer["rows"]:
        p = performance(traffic, row["agents"], 20, 5)
        assert row == {
            "agents": p.agents,
            "p_wait": p.p_wait,
            "service_level": p.service_level,
            "asa_s": p.asa_s,
            "occupancy": p.occupancy,
            "p_abandon": p.p_abandon,
            "abandon_rate": p.abandon_rate,
            "mean_wait_s": p.mean_wait_s,
        }
    assert [r["agents"] for r in answer["rows"]] == list(range(10, 17))


def test_the_table_says_the_answer_and_marks_its_row() -> None:
    result = ccpipe(*PUBLISHED, "--shrinkage", "0.3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Erlang C: 200.0 contacts an hour, AHT 180 s: 10.00 Erlangs")
    assert "14 agents on the floor for 80 % answered within 20 s" in lines[1]
    assert "20 to schedule with 30 % shrinkage" in lines[1]
    header = lines[3].split()
    assert header == ["agents", "p_wait", "service_level", "asa_s", "occupancy", "note"]
    marked = [line for line in lines[5:] if line.endswith("required")]
    assert [line.split()[:3] for line in marked] == [["14", "0.174", "0.888"]]


@pytest.mark.parametrize(
    ("change", "option"),
    [
        (("--offered", "0"), "--offered"),
        (("--offered", "-10"), "--offered"),
        (("--offered", "lots"), "--offered"),
        (("--interval-s", "0"), "--interval-s"),
        (("--aht-s", "-180"), "--aht-s"),
        (("--aht-s", "nan"), "--aht-s"),
        (("--sl-target", "1"), "--sl-target"),
        (("--sl-target", "80"), "--sl-target"),
        (("--sl-target", "0"), "--sl-target"),
        (("--sl-threshold-s", "-20"), "--sl-threshold-s"),
        (("--patience-s", "0"), "--patience-s"),
        (("--max-occupancy", "1.2"), "--max-occupancy"),
        (("--shrinkage", "1"), "--shrinkage"),
        (("--short-abandon-s", "-1"), "--short-abandon-s"),
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_exit_2(
    change: tuple[str, str], option: str
) -> None:
    args = list(PUBLISHED)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    result = ccpipe(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"ccpipe staffing erlang: {option}: ")
    assert "Traceback" not in result.stderr


def test_more_load_than_the_search_limit_is_a_clear_error() -> None:
    result = ccpipe(*PUBLISHED[:1], "100000000", *PUBLISHED[2:])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "needs more than 10,000 agents" in result.stderr and "Traceback" not in result.stderr


def test_help_explains_each_option_with_units_and_an_example() -> None:
    result = ccpipe("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option in ("--offered N", "--interval-s S", "--aht-s H", "--sl-threshold-s T"):
        assert option in text
    for words in ("in seconds", "between 0 and 1", "e.g. 0.8", "Erlang A", "example"):
        assert words in text
    assert "ccpipe staffing erlang --offered 100 --interval-s 1800 --aht-s 180" in result.stdout
