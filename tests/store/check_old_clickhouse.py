"""Manual check of the schema on older ClickHouse releases, through old chdb wheels.

chdb 0.15.0 embeds ClickHouse 23.6 and chdb 1.0.2 ClickHouse 23.10, both with the old query
analyzer that 23.8 runs by default; the project's chdb (26.9) has only the new one. The
check needs two environments, so it is a script, not a test:

    .venv/bin/python tests/store/check_old_clickhouse.py export /tmp/compat
    python3 -m venv /tmp/chdb015 && /tmp/chdb015/bin/pip install chdb==0.15.0
    /tmp/chdb015/bin/python tests/store/check_old_clickhouse.py check /tmp/compat

`export` fills a store from simulated traffic through the KPI core and writes its tables
(Native format), the core's report and the queries of docs/queries.md. `check` applies every
migration on the old engine, loads the tables, and compares `kpi_interval_report` (and the
what-if view at the stored thresholds) with the core's report, then runs every doc query.
It exits 1 on any difference or failure.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("segments", "events", "agent_states", "kpi_intervals", "dead_letters")
ORDER = " ORDER BY tenant, queue, channel, interval_start"


def export(directory: Path) -> None:
    from pipeline.store import open_store
    from pipeline.store.migrations import load_migrations, migrate
    from tests.store.fill import fill, simulated
    from tests.store.test_queries_doc import QUERIES

    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"chdb://{tmp}/store")
        try:
            migrate(store, load_migrations())
            expected = fill(store, simulated(2000, seed=5))
            for table in TABLES:
                store.execute(
                    f"SELECT * FROM {table} INTO OUTFILE '{directory / table}.native' "
                    "TRUNCATE FORMAT Native"
                )
        finally:
            store.close()
    (directory / "expected.json").write_text(json.dumps(expected))
    (directory / "queries.json").write_text(json.dumps(QUERIES))


def check(directory: Path) -> int:
    import chdb
    from chdb import session

    sys.path.insert(0, str(ROOT))
    from pipeline.store.migrations import load_migrations

    print("ClickHouse", chdb.query("SELECT version()", "CSV").bytes().decode().strip())
    sess = session.Session(tempfile.mkdtemp())
    # Old chdb sessions keep tables only in a database created explicitly.
    sess.query("CREATE DATABASE IF NOT EXISTS cc ENGINE = Atomic")

    def query(sql: str) -> str:
        result = sess.query("USE cc; " + sql, "CSV")
        error = result.error_message() if hasattr(result, "error_message") else ""
        if error:
            raise RuntimeError(error)
        return str(result.bytes().decode())

    failures = 0
    created: set[str] = set()
    for migration in load_migrations():
        for statement in migration.statements():
            created.update(
                re.findall(r"CREATE (?:TABLE IF NOT EXISTS|OR REPLACE VIEW) (\w+)", statement)
            )
            try:
                query(statement)
            except RuntimeError as exc:
                print("FAIL", migration.migration_id, str(exc)[:300])
                failures += 1
    # Old chdb reports some errors only on stderr: check that every object exists.
    present = set(query("SELECT name FROM system.tables WHERE database = 'cc'").split())
    present = {name.strip('"') for name in present}
    for name in sorted(created - present):
        print("FAIL: not created:", name)
        failures += 1
    for table in TABLES:
        query(f"INSERT INTO {table} SELECT * FROM file('{directory / table}.native', Native)")
    expected = json.loads((directory / "expected.json").read_text())

    def report(source: str) -> list[dict[str, Any]]:
        text = query(
            f"SELECT * FROM {source}{ORDER} FORMAT JSONEachRow "
            "SETTINGS output_format_json_quote_64bit_integers = 0"
        )
        rows = [json.loads(line) for line in text.splitlines() if line]
        for row in rows:
            row["interval_start"] = row["interval_start"].replace(" ", "T") + "Z"
        return rows

    same = "kpi_interval_report_with(sl_threshold_s=-1, short_abandon_s=-1, fcr_window_s=-1)"
    for source in ("kpi_interval_report", same):
        try:
            equal = report(source) == expected
        except RuntimeError as exc:
            equal = False
            print(str(exc)[:300])
        print("equal to the core's report" if equal else "DIFFERS", source)
        failures += not equal
    for title, sql, params in json.loads((directory / "queries.json").read_text()):
        for name, value in params.items():
            # Old chdb takes no query parameters: inline each as a typed literal.
            sql = re.sub(r"\{" + name + r":([^}]*)\}", rf"CAST('{value}' AS \1)", sql)
        try:
            rows = len(query(sql).splitlines())
            print(f"ok   {title}: {rows} rows")
            failures += rows == 0
        except RuntimeError as exc:
            print(f"FAIL {title}: {str(exc)[:300]}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "export":
        sys.path.insert(0, str(ROOT))
        export(Path(sys.argv[2]))
        sys.exit(0)
    sys.exit(check(Path(sys.argv[2])))
