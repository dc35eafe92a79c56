"""The chdb owner's read-only SQL endpoint: what passes, and `ccpipe sql` from another
process while the owner runs, or after it is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.sink.owner import OWNER_FILE, refusal

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  select count() FROM segments FINAL;",
        "-- the day\nWITH 1 AS x SELECT x",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "SHOW TABLES",
        "DESCRIBE TABLE events",
        "desc events",
        "EXPLAIN SELECT 1",
        "SELECT 'DROP TABLE x; INTO OUTFILE' AS s",
        "/* a note */ SELECT 1",
    ],
)
def test_read_only_statements_pass(sql: str) -> None:
    assert refusal(sql) is None


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("DROP TABLE events", "not DROP"),
        ("INSERT INTO events SELECT * FROM events", "not INSERT"),
        ("ALTER TABLE segments DELETE WHERE 1", "not ALTER"),
        ("SELECT 1; DROP TABLE events", "exactly one statement"),
        ("SELECT * FROM events INTO OUTFILE '/tmp/x.csv'", "INTO OUTFILE"),
        ("SET readonly = 0", "not SET"),
        ("-- only a comment", "exactly one statement"),
        ("OPTIMIZE TABLE events FINAL", "not OPTIMIZE"),
    ],
)
def test_everything_else_is_refused(sql: str, why: str) -> None:
    reason = refusal(sql)
    assert reason is not None and why in reason


# The owner: opens the store, fills a table, serves the endpoint until its stdin closes.
OWNER = """
import sys
from pipeline.sink.owner import SqlEndpoint
from pipeline.store import open_store
path = sys.argv[1]
store = open_store("chdb://" + path)
store.execute("CREATE TABLE t (n UInt32, s Nullable(String)) ENGINE = MergeTree ORDER BY n")
store.insert("t", ("n", "s"), ([1, 2, 3], ["a", None, "c,d"]))
endpoint = SqlEndpoint(store, path)
endpoint.start()
print("ready", flush=True)
sys.stdin.readline()
endpoint.close()
store.close()
"""


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    path = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"  # blocks until it serves
        yield f"chdb://{path}", process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def test_sql_from_another_process_goes_through_the_owner(
    owner: tuple[str, subprocess.Popen[bytes]], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    url, _ = owner
    query = "SELECT n, s FROM t WHERE n >= {low:UInt32} ORDER BY n"
    assert main(["sql", "--store", url, "--format", "csv", "--param", "low=2", query]) == 0
    assert capsysbinary.readouterr().out == b'n,s\n2,\n3,"c,d"\n'
    assert main(["sql", "--store", url, "--format", "jsonl", "SELECT count() AS c FROM t"]) == 0
    assert capsysbinary.readouterr().out == b'{"c":3}\n'
    assert main(["sql", "--store", url, "SELECT n FROM t ORDER BY n"]) == 0
    assert capsysbinary.readouterr().out == b"n\n-\n1\n2\n3\n(3 rows)\n"


def test_the_owner_refuses_writes_and_reports_errors(
    owner: tuple[str, subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, process = owner
    assert main(["sql", "--store", url, "DROP TABLE t"]) == 2
    err = capsys.readouterr().err
    assert f"open in process {process.pid}" in err and "only read-only statements" in err
    assert main(["sql", "--store", url, "SELECT no_such_column FROM t"]) == 1
    assert "no_such_column" in capsys.readouterr().err
    assert main(["sql", "--store", url, "SELECT count() FROM t"]) == 0  # still there


HOLDER = """
import sys
from pipeline.store import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
store.close()
"""


def test_a_stale_owner_file_is_reported_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sink that wrote the owner file died; another process holds the store now."""
    path = tmp_path / "store"
    path.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, check=True)  # fmt: skip
    dead_pid = int(gone.stdout)
    (path / OWNER_FILE).write_text(json.dumps({"pid": dead_pid, "url": "http://127.0.0.1:1/sql"}))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, f"chdb://{path}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"ready\n"
        assert main(["sql", "--store", f"chdb://{path}", "SELECT 1"]) == 2
        err = capsys.readouterr().err
        assert f"process {dead_pid}, which is gone" in err
        (path / OWNER_FILE).write_text(
            json.dumps({"pid": holder.pid, "url": "http://127.0.0.1:1/sql"})
        )
        assert main(["sql", "--store", f"chdb://{path}", "SELECT 1"]) == 2
        assert "does not answer" in capsys.readouterr().err
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
