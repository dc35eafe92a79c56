"""`ccpipe load` as a user runs it: simulated events in, the store's report equal to
`ccpipe kpis` field by field, and a second load changing no figure."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import orjson
import pytest
import yaml

from pipeline.cli import main
from pipeline.config import load_settings
from pipeline.core.intervals import REPORT_FIELDS
from pipeline.store import open_store
from tests.sink.streams import assert_complete, expected_for, figures

ORDERED = "SELECT * FROM kpi_interval_report ORDER BY tenant, queue, channel, interval_start"
# Short FCR windows and a fractional threshold (as tests/store/fill.py), so that FCR closes
# within the simulated day and rounding to microseconds is exercised.
CONFIG = {
    "queues": {
        "billing": {"fcr_window_s": 3600, "sl_threshold_s": 15.5},
        "sales": {"fcr_window_s": 1800.000001},
        "support": {"fcr_window_s": 7200, "short_abandon_s": {"voice": 3, "chat": 1}},
    }
}
BAD_LINES = [b"{oops", b'{"type": "contact.offered", "ts": "yesterday"}',
             b'[{"type":"agent.state"}, {"type":"agent.state","event_id":"ok-1",'
             b'"ts":"2026-11-22T09:00:00Z","agent_id":"a9","state":"busy"}]']  # fmt: skip


class Loaded(NamedTuple):
    events: Path
    config: Path
    url: str
    kpis: bytes  # `ccpipe kpis --format jsonl` on the file


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, bytes]:
    code = main(list(args))
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def loaded(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> Iterator[Loaded]:
    events = tmp_path / "day.jsonl"
    code, _, _ = run(capsysbinary, "simulate", "--contacts", "2500", "--seed", "11",
                     "--output", str(events), "--quiet")  # fmt: skip
    assert code == 0
    with events.open("ab") as handle:
        handle.write(b"\n".join(BAD_LINES) + b"\n\n")
    config = tmp_path / "ccpipe.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    code, kpis, _ = run(capsysbinary, "kpis", str(events), "--config", str(config), "--quiet")
    assert code == 0
    url = f"chdb://{tmp_path / 'store'}"
    code, _, err = run(capsysbinary, "load", str(events), "--store", url, "--config", str(config))
    assert code == 0, err
    yield Loaded(events, config, url, kpis)


def test_the_report_view_equals_ccpipe_kpis_field_by_field(
    loaded: Loaded, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    expected = [orjson.loads(line) for line in loaded.kpis.splitlines()]
    assert len(expected) > 300
    assert sum(r["fcr_eligible"] for r in expected) > 50  # FCR is really exercised
    with open_store(loaded.url) as store:
        result = store.query(ORDERED)
        assert tuple(result.columns) == REPORT_FIELDS
    code, printed, _ = run(capsysbinary, "sql", "--store", loaded.url, "--format", "jsonl",
                           ORDERED)  # fmt: skip
    assert code == 0
    assert printed == loaded.kpis  # every field, every null, every digit, in order


def test_the_tables_hold_every_row_once_and_agree(loaded: Loaded) -> None:
    lines = loaded.events.read_bytes().splitlines()
    expected = expected_for([line for line in lines if line.strip()],
                            load_settings(str(loaded.config), env={}))  # fmt: skip
    with open_store(loaded.url) as store:
        assert_complete(store, expected)
        letters = store.query(
            "SELECT source, partition, position, item, reason FROM dead_letters FINAL "
            "ORDER BY position, item"
        ).rows
    first_bad = len(lines) - len(BAD_LINES)  # 1-based line number of the first bad line
    assert [(r[2], r[3]) for r in letters] == [(first_bad, 0), (first_bad + 1, 0),
                                               (first_bad + 2, 0)]  # fmt: skip
    assert {r[0] for r in letters} == {str(loaded.events.resolve())}
    assert all(r[1] == -1 for r in letters)
    assert "not JSON" in letters[0][4] and "`event_id`" in letters[1][4]


def test_loading_the_same_file_twice_changes_no_figure(
    loaded: Loaded, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    with open_store(loaded.url) as store:
        before = figures(store)
    code, _, err = run(capsysbinary, "load", str(loaded.events), "--store", loaded.url,
                       "--config", str(loaded.config))  # fmt: skip
    assert code == 0, err
    with open_store(loaded.url) as store:
        assert figures(store) == before
    code, printed, _ = run(capsysbinary, "sql", "--store", loaded.url, "--format", "jsonl",
                           ORDERED)  # fmt: skip
    assert printed == loaded.kpis


def test_load_reads_stdin_and_says_what_it_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    offered = (
        b'{"event_id":"e1","type":"contact.offered","ts":"2026-11-22T09:00:01Z",'
        b'"contact_id":"c1","queue":"sales","channel":"voice"}'
    )
    lines = b"\n".join([BAD_LINES[2], offered]) + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines)))
    url = f"chdb://{tmp_path / 'store'}"
    assert main(["load", "-", "--store", url]) == 0
    err = capsys.readouterr().err
    assert "applying 0001_events" in err
    assert "line 1: Object missing required field `event_id`" in err  # the batch's first
    assert "2 lines: 2 events, 1 bad" in err
    with open_store(url) as store:
        assert store.query("SELECT count() FROM segments FINAL").scalar() == 1
        assert store.query("SELECT source, item FROM dead_letters FINAL").rows == [("stdin", 0)]


HOLDER = """
import sys
from pipeline.store import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
store.close()
"""


def test_load_refuses_a_store_another_process_owns_and_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["load", str(tmp_path / "nope.jsonl"), "--store", "chdb://:memory:"]) == 2
    assert "no such file" in capsys.readouterr().err
    events = tmp_path / "one.jsonl"
    events.write_bytes(BAD_LINES[0] + b"\n")
    url = f"chdb://{tmp_path / 'store'}"
    root = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"ready\n"
        assert main(["load", str(events), "--store", url]) == 2
        assert f"open in process {holder.pid}" in capsys.readouterr().err
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
