"""`ccpipe kpis` as a user runs it: files and stdin, formats, bad lines, --dlq, exit codes."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import orjson

from pipeline.core.intervals import REPORT_FIELDS
from tests.core.builders import answered, lines, offered

EVENTS = [offered(0, "c1"), answered(12, "c1"), offered(5, "c2", channel="chat")]


def ccpipe(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], input=stdin, capture_output=True
    )


def _input(bad: bool = False) -> bytes:
    body = lines(EVENTS)
    if bad:
        body.insert(1, b'{"type": "contact.answered", "event_id": "x"}')
        body.append(b"\xff not json")
    return b"\n".join(body) + b"\n"


def test_stdin_jsonl_rows_sorted_with_contract_fields() -> None:
    result = ccpipe("kpis", "-", stdin=_input())
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [r["channel"] for r in rows] == ["chat", "voice"]
    assert all(tuple(r) == REPORT_FIELDS for r in rows)
    assert rows[1]["asa_s"] == 12.0 and rows[0]["asa_s"] is None


def test_bad_lines_reported_kept_in_dlq_and_the_run_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(_input(bad=True))
    dlq = tmp_path / "dlq.jsonl"
    result = ccpipe("kpis", str(source), "--dlq", str(dlq))
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 2
    stderr = result.stderr.decode()
    assert "line 2: " in stderr and "missing required field" in stderr
    assert "line 5: not JSON" in stderr
    kept = [orjson.loads(line) for line in dlq.read_bytes().splitlines()]
    assert [k["line"] for k in kept] == [2, 5]
    assert kept[0]["raw"] == '{"type": "contact.answered", "event_id": "x"}'
    assert "2 bad" in stderr


def test_csv_and_table_formats() -> None:
    result = ccpipe("kpis", "-", "--format", "csv", stdin=_input())
    table = list(csv.reader(io.StringIO(result.stdout.decode())))
    assert tuple(table[0]) == REPORT_FIELDS
    assert table[2][REPORT_FIELDS.index("service_level")] == "1.0"
    assert table[1][REPORT_FIELDS.index("service_level")] == ""
    text = ccpipe("kpis", "-", "--format", "table", stdin=_input()).stdout.decode()
    header, _rule, *body = text.splitlines()
    assert header.split() == list(REPORT_FIELDS)
    assert len(body) == 2 and "1.000" in body[1] and " - " in body[0]


def test_missing_file_and_bad_config_exit_2(tmp_path: Path) -> None:
    assert ccpipe("kpis", str(tmp_path / "none.jsonl")).returncode == 2
    config = tmp_path / "c.yaml"
    config.write_text("queues: 3\n")
    result = ccpipe("kpis", "-", "--config", str(config), stdin=_input())
    assert result.returncode == 2
    assert b"queues" in result.stderr and str(config).encode() in result.stderr


def test_every_command_explains_itself() -> None:
    top = ccpipe("--help").stdout.decode()
    from pipeline.cli import COMMANDS

    for name in COMMANDS:
        if f"    {name} " in top or f"    {name}\n" in top:
            helped = ccpipe(name, "--help")
            assert helped.returncode == 0, name
            assert len(helped.stdout) > 200, name
