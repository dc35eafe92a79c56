"""`ccpipe convert` as a user runs it: piped into `ccpipe kpis`, with a dead-letter file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.adapters.samples import BILLING, DATA, SUPPORT, kpis_of

CCPIPE = str(Path(sys.executable).with_name("ccpipe"))


def ccpipe(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [CCPIPE, *args], input=stdin, capture_output=True, timeout=60, check=False
    )


def test_converted_events_pipe_into_kpis() -> None:
    converted = ccpipe(
        "convert",
        "--from",
        "asterisk",
        "--acw-pause-reason",
        "ACW",
        str(DATA / "asterisk-lifecycle.queue_log"),
    )
    assert converted.returncode == 0, converted.stderr
    assert b"0 dead-lettered" in converted.stderr
    report = ccpipe("kpis", "-", "--format", "jsonl", "--quiet", stdin=converted.stdout)
    assert report.returncode == 0, report.stderr
    rows = {row["queue"]: row for row in map(json.loads, report.stdout.splitlines())}
    assert kpis_of(rows["support"], SUPPORT) == SUPPORT
    assert kpis_of(rows["billing"], BILLING) == BILLING


def test_unmappable_records_go_to_the_dlq_file_and_stderr_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    dlq = tmp_path / "dlq.jsonl"
    out = tmp_path / "events.jsonl"
    result = ccpipe(
        "convert",
        "--from",
        "taskrouter",
        "--output",
        str(out),
        "--dlq",
        str(dlq),
        str(DATA / "taskrouter-unmappable.txt"),
    )
    assert result.returncode == 0
    stderr = result.stderr.decode()
    assert "line 2: activity 'Lunch' has no v1 agent state" in stderr
    assert "6 records, 2 events, 0 records with no v1 meaning, 4 dead-lettered" in stderr
    dead = [json.loads(line) for line in dlq.read_text().splitlines()]
    assert [d["line"] for d in dead] == [2, 3, 4, 5]
    assert dead[2] == {
        "line": 4,
        "reason": "neither JSON nor a form-encoded event callback",
        "raw": "hello world",
    }
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["type"] for e in events] == ["contact.offered", "contact.abandoned"]


def test_the_same_input_converted_twice_is_the_same_output() -> None:
    args = ("convert", "--from", "connect-ctr", str(DATA / "connect-ctr-lifecycle.jsonl"))
    first, second = ccpipe(*args), ccpipe(*args)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert first.stdout.count(b"\n") == 20


def test_state_carries_a_transfer_across_two_files(tmp_path: Path) -> None:
    """Contact records of one day split in two files, the transfer across the split."""
    lines = (DATA / "connect-ctr-lifecycle.jsonl").read_bytes().splitlines(keepends=True)
    state = tmp_path / "state.json"
    whole = ccpipe("convert", "--from", "connect-ctr", "-", stdin=b"".join(lines))
    halves = [
        ccpipe("convert", "--from", "connect-ctr", "--state", str(state), "-", stdin=part)
        for part in (b"".join(lines[:5]), b"".join(lines[5:]))
    ]
    assert b"contact.transferred" not in halves[0].stdout
    assert b"contact.transferred" in halves[1].stdout
    assert sorted((halves[0].stdout + halves[1].stdout).splitlines()) == sorted(
        whole.stdout.splitlines()
    )


def test_bad_usage_says_what_is_wrong() -> None:
    not_for_asterisk = ccpipe("convert", "--from", "asterisk", "--contact-from", "task", "-")
    assert not_for_asterisk.returncode == 2
    assert b"contact_from" in not_for_asterisk.stderr
    missing = ccpipe("convert", "--from", "asterisk", "/nonexistent/queue_log")
    assert missing.returncode == 2
    assert b"no such file: /nonexistent/queue_log" in missing.stderr
