"""`ccpipe migrate`: apply the schema's numbered SQL migrations to the store."""

from __future__ import annotations

import argparse
import sys

HELP = "create or update the ClickHouse schema of the configured store (safe to run again)"
DESCRIPTION = """\
Apply the numbered migrations (NNNN_name.sql, shipped in the package as
pipeline/store/schema/) that the store has not run yet, in order, and record each in the
store's `schema_migrations` table. Running it again applies nothing new. A migration
interrupted half-way runs again, whole. A gap or a repeated number in the files, or an
applied migration whose file has changed, stops it with the reason.

The store is --store, else $CCPIPE_STORE, else `store:` in the config file, else
chdb://./.ccpipe/store. Server URLs: clickhouse://user@host:9000/db (clickhouses:// or
?secure=1 for TLS); the password may come from $CCPIPE_STORE_PASSWORD or the file named by
$CCPIPE_STORE_PASSWORD_FILE, and is never printed.

example: ccpipe migrate --store chdb://./.ccpipe/store
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "migrate",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="a directory of NNNN_name.sql migrations to apply instead of the schema "
        "the package ships",
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help="list every migration and whether the store has applied it; change nothing",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.config import ConfigError, load_settings
    from pipeline.store import StoreError, StoreURLError, open_store
    from pipeline.store.migrations import (
        MigrationError,
        applied_migrations,
        load_migrations,
        migrate,
    )

    def say(message: str) -> None:
        print(f"ccpipe migrate: {message}", file=sys.stderr)

    try:
        settings = load_settings(args.config, store=args.store)
        migrations = load_migrations(Path(args.dir) if args.dir else None)
        store = open_store(settings.store)
    except (ConfigError, StoreURLError, MigrationError, StoreError) as exc:
        say(str(exc))
        return 2
    try:
        if args.status:
            try:
                applied = applied_migrations(store)
            except StoreError:
                applied = {}  # no record table yet: nothing applied
            for migration in migrations:
                record = applied.get(migration.migration_id)
                print(f"{migration.migration_id}  {record.status if record else 'pending'}")
            return 0
        done = migrate(store, migrations, log=say)
    except (MigrationError, StoreError) as exc:
        say(f"{store.display_url}: {exc}")
        return 1
    finally:
        store.close()
    if done:
        say(f"{store.display_url}: applied {len(done)}, {len(migrations)} in all")
    else:
        say(f"{store.display_url}: up to date ({len(migrations)} migrations)")
    return 0
