"""Numbered SQL migrations: a loader that refuses gaps and duplicates, and an applier that
records what ran in the store itself.

A migration is a file `NNNN_name.sql` holding one or more statements separated by `;`. The
numbers run 1, 2, 3... with no gap and no repeat; a file that looks like a migration but is
not named like one is refused too, rather than skipped. The schema's own migrations are
package data, `pipeline/store/schema/`, read through `importlib.resources`: an installed
wheel finds them wherever the command runs (`ccpipe migrate --dir` reads another directory).

The record is the table `schema_migrations`, a ReplacingMergeTree keyed by migration id
whose largest `version` is the latest status (after Snuba's own migrations table). A
migration is marked `in_progress` before its statements run and `completed` after, so one
interrupted half-way is run again, whole, next time: every statement is written to be
safe to repeat (`IF NOT EXISTS`, `CREATE OR REPLACE VIEW`). A completed migration whose
file has changed since is an error: write a new migration instead.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from pipeline.store.base import Store, StoreError

RECORD_TABLE = "schema_migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# Plain enough for every ClickHouse this project meets, Debian's 18.16 included.
RECORD_DDL = f"""
CREATE TABLE IF NOT EXISTS {RECORD_TABLE}
(
    migration_id String,
    checksum String,
    status Enum8('completed' = 0, 'in_progress' = 1),
    applied_at DateTime DEFAULT now(),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY migration_id
"""


class MigrationError(RuntimeError):
    """The migrations on disk or in the store cannot be applied as they are."""


@dataclass(frozen=True)
class Migration:
    number: int
    migration_id: str  # the file name without `.sql`, e.g. "0002_segments"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    def statements(self) -> list[str]:
        return split_statements(self.sql)


@dataclass(frozen=True)
class Applied:
    migration_id: str
    status: str
    checksum: str


def packaged_schema() -> Traversable:
    """The schema's migrations as the package ships them (`pipeline/store/schema/`)."""
    return resources.files("pipeline.store").joinpath("schema")


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """The migrations in `directory` (default: the packaged schema), in order; refuses gaps,
    duplicates and stray names. A `Path` is a `Traversable` too."""
    if directory is None:
        directory = packaged_schema()
    if not directory.is_dir():
        raise MigrationError(f"no migrations directory {directory}")
    by_number: dict[int, Migration] = {}
    files = sorted(
        (f for f in directory.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name
    )
    for file in files:
        match = _FILE.match(file.name)
        if match is None:
            raise MigrationError(f"{file.name}: a migration file is named NNNN_lowercase_name.sql")
        number = int(match.group(1))
        migration_id = file.name.removesuffix(".sql")
        migration = Migration(number, migration_id, file.read_text(encoding="utf-8"))
        if number in by_number:
            raise MigrationError(
                f"two migrations numbered {number:04d}: "
                f"{by_number[number].migration_id} and {migration.migration_id}"
            )
        if not migration.statements():
            raise MigrationError(f"{file.name} holds no statement")
        by_number[number] = migration
    if not by_number:
        raise MigrationError(f"no migrations in {directory}")
    for expected, number in enumerate(sorted(by_number), start=1):
        if number != expected:
            raise MigrationError(
                f"migration {expected:04d} is missing (found {number:04d} after it): "
                "numbers run 0001, 0002, ... without gaps"
            )
    return [by_number[n] for n in sorted(by_number)]


def applied_migrations(store: Store) -> dict[str, Applied]:
    """What the store's record says, latest status per migration."""
    result = store.query(
        f"SELECT migration_id, argMax(toString(status), version), argMax(checksum, version) "
        f"FROM {RECORD_TABLE} GROUP BY migration_id"
    )
    return {row[0]: Applied(row[0], row[1], row[2]) for row in result.rows}


def migrate(
    store: Store,
    migrations: Sequence[Migration],
    log: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Apply what is not applied yet, in order; returns the ids applied now."""
    store.ensure_database()
    store.execute(RECORD_DDL)
    applied = applied_migrations(store)
    known = {m.migration_id for m in migrations}
    unknown = sorted(set(applied) - known)
    if unknown:
        raise MigrationError(
            f"the store has migration {unknown[0]} that is not in this code: "
            "is this ccpipe older than the store?"
        )
    for migration in migrations:
        record = applied.get(migration.migration_id)
        if (
            record is not None
            and record.status == "completed"
            and record.checksum != migration.checksum
        ):
            raise MigrationError(
                f"{migration.migration_id} changed after it was applied "
                "(add a new migration instead of editing an applied one)"
            )
    versions = _Versions()
    done: list[str] = []
    for migration in migrations:
        record = applied.get(migration.migration_id)
        if record is not None and record.status == "completed":
            continue
        again = " (again: it was interrupted)" if record is not None else ""
        log(f"applying {migration.migration_id}{again}")
        _record(store, migration, "in_progress", versions.next())
        for statement in migration.statements():
            try:
                store.execute(statement)
            except StoreError as exc:
                raise MigrationError(f"{migration.migration_id} failed: {exc}") from None
        _record(store, migration, "completed", versions.next())
        done.append(migration.migration_id)
    return done


def _record(store: Store, migration: Migration, status: str, version: int) -> None:
    store.insert(
        RECORD_TABLE,
        ("migration_id", "checksum", "status", "version"),
        ([migration.migration_id], [migration.checksum], [status], [version]),
    )


class _Versions:
    """Microsecond clock readings that never repeat or go back within one run."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(time.time_ns() // 1000, self._last + 1)
        return self._last


def split_statements(sql: str) -> list[str]:
    """Split on `;` outside quotes and comments; drop empty and comment-only statements."""
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            current.append(sql[i:end])
            i = end
            continue
        if ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            current.append(sql[i:end])
            i = end
            continue
        if ch in "'\"`":
            j = i + 1
            while j < n and sql[j] != ch:
                j += 2 if sql[j] == "\\" else 1
            current.append(sql[i : j + 1])
            has_code = True
            i = j + 1
            continue
        if ch == ";":
            if has_code:
                statements.append("".join(current).strip())
            current, has_code = [], False
            i += 1
            continue
        current.append(ch)
        has_code = has_code or not ch.isspace()
        i += 1
    if has_code:
        statements.append("".join(current).strip())
    return statements
