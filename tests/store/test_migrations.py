from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.segments import SEGMENT_ROW_FIELDS
from pipeline.store import Store
from pipeline.store.migrations import (
    MigrationError,
    applied_migrations,
    load_migrations,
    migrate,
    split_statements,
)
from pipeline.store.tables import LAYOUTS, SEGMENT_COLUMNS

TABLE_SQL = "CREATE TABLE IF NOT EXISTS {name} (a Int64) ENGINE = MergeTree ORDER BY a;\n"


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def test_the_project_migrations_load_in_order() -> None:
    migrations = load_migrations()
    assert [m.number for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].migration_id == "0001_events"


def test_loader_refuses_a_gap(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "m",
        {"0001_a.sql": TABLE_SQL.format(name="a"), "0003_c.sql": TABLE_SQL.format(name="c")},
    )
    with pytest.raises(MigrationError, match="0002 is missing"):
        load_migrations(directory)


def test_loader_refuses_a_duplicate_number(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "m",
        {"0001_a.sql": TABLE_SQL.format(name="a"), "0001_b.sql": TABLE_SQL.format(name="b")},
    )
    with pytest.raises(MigrationError, match="two migrations numbered 0001"):
        load_migrations(directory)


@pytest.mark.parametrize("name", ["1_a.sql", "0001-a.sql", "0001_A.sql", "0001_.sql"])
def test_loader_refuses_a_stray_name(tmp_path: Path, name: str) -> None:
    directory = write(tmp_path / "m", {name: TABLE_SQL.format(name="a")})
    with pytest.raises(MigrationError, match="NNNN_lowercase_name"):
        load_migrations(directory)


def test_loader_refuses_an_empty_migration_and_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="no migrations"):
        load_migrations(write(tmp_path / "none", {"README.md": "x"}))
    with pytest.raises(MigrationError, match="holds no statement"):
        load_migrations(write(tmp_path / "m", {"0001_a.sql": "-- nothing yet\n;\n"}))


def test_statements_split_outside_quotes_and_comments() -> None:
    sql = """
    -- a comment; not a split
    CREATE TABLE a (s String DEFAULT 'x;y', t String DEFAULT 'it\\'s;') ENGINE = Log;
    /* block; comment */ CREATE VIEW `v;w` AS SELECT ';' AS "c;d";
    ;
    SELECT 1
    """
    statements = split_statements(sql)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'it\\'s;') ENGINE = Log")
    assert statements[1].startswith("/* block; comment */ CREATE VIEW `v;w`")
    assert statements[2] == "SELECT 1"


def test_full_schema_applies_on_chdb_and_twice_is_a_no_op(empty_store: Store) -> None:
    migrations = load_migrations()
    logged: list[str] = []
    done = migrate(empty_store, migrations, logged.append)
    assert done == [m.migration_id for m in migrations]
    assert logged == [f"applying {m.migration_id}" for m in migrations]
    assert migrate(empty_store, migrations) == []
    record = applied_migrations(empty_store)
    assert {r.status for r in record.values()} == {"completed"}
    assert {m.migration_id: m.checksum for m in migrations} == {
        r.migration_id: r.checksum for r in record.values()
    }
    tables = {
        row[0]
        for row in empty_store.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase()"
        ).rows
    }
    assert {
        "events",
        "segments",
        "kpi_intervals",
        "kpi_intervals_merged",
        "agent_states",
        "dead_letters",
        "segment_facts",
        "kpi_interval_counts",
        "kpi_interval_report",
        "kpi_interval_report_with",
        "schema_migrations",
    } <= tables


def test_an_interrupted_migration_runs_again_whole(empty_store: Store, tmp_path: Path) -> None:
    directory = write(
        tmp_path / "m",
        {
            "0001_a.sql": TABLE_SQL.format(name="a"),
            "0002_b.sql": TABLE_SQL.format(name="b") + "CREATE TABLE broken (;\n",
        },
    )
    with pytest.raises(MigrationError, match="0002_b failed"):
        migrate(empty_store, load_migrations(directory))
    assert applied_migrations(empty_store)["0002_b"].status == "in_progress"
    (directory / "0002_b.sql").write_text(TABLE_SQL.format(name="b"))
    logged: list[str] = []
    assert migrate(empty_store, load_migrations(directory), logged.append) == ["0002_b"]
    assert logged == ["applying 0002_b (again: it was interrupted)"]
    assert applied_migrations(empty_store)["0002_b"].status == "completed"


def test_an_applied_migration_that_changed_is_refused(empty_store: Store, tmp_path: Path) -> None:
    directory = write(tmp_path / "m", {"0001_a.sql": TABLE_SQL.format(name="a")})
    migrate(empty_store, load_migrations(directory))
    (directory / "0001_a.sql").write_text(TABLE_SQL.format(name="a") + "-- edited\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(empty_store, load_migrations(directory))


def test_a_store_ahead_of_the_code_is_refused(empty_store: Store, tmp_path: Path) -> None:
    directory = write(
        tmp_path / "m",
        {"0001_a.sql": TABLE_SQL.format(name="a"), "0002_b.sql": TABLE_SQL.format(name="b")},
    )
    migrate(empty_store, load_migrations(directory))
    (directory / "0002_b.sql").unlink()
    with pytest.raises(MigrationError, match="0002_b that is not in this code"):
        migrate(empty_store, load_migrations(directory))


def test_insert_layouts_match_the_migrated_tables(store: Store) -> None:
    for table, columns in LAYOUTS.items():
        described = store.query(
            "SELECT name, default_kind FROM system.columns "
            "WHERE database = currentDatabase() AND table = {t:String} ORDER BY position",
            {"t": table},
        ).rows
        # Every column a writer must give is in the layout, in the table's order.
        assert [name for name, _ in described if name in columns] == list(columns), table
        assert {name for name, kind in described if kind == ""} <= set(columns), table


def test_segment_layout_is_the_core_segment_row() -> None:
    assert SEGMENT_COLUMNS == SEGMENT_ROW_FIELDS
