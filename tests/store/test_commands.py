"""`ccpipe migrate` and `ccpipe sql` through the CLI entry point, on a chdb store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.store import StoreBusy, open_store
from pipeline.store.migrations import load_migrations

QUERY = (
    "SELECT number AS n, "
    "addMilliseconds(toDateTime64('2026-11-22 09:00:00', 6, 'UTC'), number * 250) AS ts, "
    "if(number = 1, NULL, number / 3) AS third, ['a', 'b,c'] AS tags "
    "FROM numbers(3)"
)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"chdb://{tmp_path / 'store'}"


def test_migrate_twice_then_status(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--store", url, "--status"]) == 0
    assert "0001_events  pending" in capsys.readouterr().out
    assert main(["migrate", "--store", url]) == 0
    err = capsys.readouterr().err
    shipped = len(load_migrations())
    assert "applying 0001_events" in err and f"applied {shipped}, {shipped} in all" in err
    assert main(["migrate", "--store", url]) == 0
    assert f"up to date ({shipped} migrations)" in capsys.readouterr().err
    assert main(["migrate", "--store", url, "--status"]) == 0
    assert "pending" not in capsys.readouterr().out


def test_migrate_refuses_a_gap(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "0002_b.sql").write_text("SELECT 1;")
    assert main(["migrate", "--store", url, "--dir", str(directory)]) == 2
    assert "migration 0001 is missing" in capsys.readouterr().err


def test_sql_table(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--store", url, QUERY]) == 0
    assert capsys.readouterr().out == (
        "n  ts                                        third  tags\n"
        "-  ---------------------------  ------------------  -----------\n"
        '0  2026-11-22T09:00:00Z                        0.0  ["a","b,c"]\n'
        '1  2026-11-22T09:00:00.250000Z                NULL  ["a","b,c"]\n'
        '2  2026-11-22T09:00:00.500000Z  0.6666666666666666  ["a","b,c"]\n'
        "(3 rows)\n"
    )


def test_sql_csv(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--store", url, "--format", "csv", QUERY]) == 0
    assert capsys.readouterr().out == (
        "n,ts,third,tags\n"
        '0,2026-11-22T09:00:00Z,0.0,"[""a"",""b,c""]"\n'
        '1,2026-11-22T09:00:00.250000Z,,"[""a"",""b,c""]"\n'
        '2,2026-11-22T09:00:00.500000Z,0.6666666666666666,"[""a"",""b,c""]"\n'
    )


def test_sql_jsonl_with_parameters(url: str, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    query = "SELECT {who:String} AS who, {n:UInt8} + 1 AS n, NULL AS nothing"
    args = ["sql", "--store", url, "--format", "jsonl", "--param", "who=it's", "--param", "n=41"]
    assert main([*args, query]) == 0
    assert capsysbinary.readouterr().out == b'{"who":"it\'s","n":42,"nothing":null}\n'


def test_sql_reads_stdin_and_takes_the_store_from_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CCPIPE_STORE", url)
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("SELECT 7 AS seven"))
    assert main(["sql", "--format", "csv", "-"]) == 0
    assert capsys.readouterr().out == "seven\n7\n"


def test_sql_errors(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--store", url, "SELECT no_such_thing"]) == 1
    assert "no_such_thing" in capsys.readouterr().err
    assert main(["sql", "--store", url, "--param", "oops", "SELECT 1"]) == 2
    assert "is not NAME=VALUE" in capsys.readouterr().err
    assert main(["sql", "--store", "mysql://x", "SELECT 1"]) == 2
    assert "starts with chdb://" in capsys.readouterr().err


def test_sql_on_an_unreachable_server_hides_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    url = "clickhouse://analyst:hunter2@127.0.0.1:1/cc?connect_timeout=2"
    assert main(["sql", "--store", url, "SELECT 1"]) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err and "analyst:***@127.0.0.1:1" in err
    assert "hunter2" not in err


HOLDER = """
import sys, time
from pipeline.store import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
store.close()
"""


def test_a_chdb_store_has_one_owner_process(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"ready\n"  # blocks until the store is open
        with pytest.raises(StoreBusy, match=f"open in process {holder.pid}"):
            open_store(url)
        assert main(["sql", "--store", url, "SELECT 1"]) == 2
        assert "one owner at a time" in capsys.readouterr().err
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder closes its store and exits
        holder.wait(timeout=30)
    with open_store(url) as store:  # free again
        assert store.query("SELECT 1").scalar() == 1
