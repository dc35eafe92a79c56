"""`ccpipe load`: backfill the configured store from a JSONL event file."""

from __future__ import annotations

import argparse
import sys
import time

HELP = "backfill the store from a JSONL event file through the stream's KPI core"
DESCRIPTION = """\
Read v1 events (one JSON object, or a JSON array of them, per line) and write to the store
what the stream would: every accepted event (`events`, `agent_states`), every segment's
latest state (`segments`), every interval's merged counts (`kpi_intervals`), and each bad
line with its reason (`dead_letters`). The KPIs come from the same core as `ccpipe kpis`,
so afterwards `SELECT * FROM kpi_interval_report` equals `ccpipe kpis` on the same file.
The schema is migrated first if needed. Safe to run twice: nothing is counted twice.

A chdb store is owned by one process: stop a `ccpipe sink` that owns it first.

examples:
  ccpipe simulate --contacts 20000 --seed 7 > day.jsonl && ccpipe load day.jsonl
  ccpipe convert asterisk queue_log | ccpipe load - --store clickhouse://ccpipe@ch:9000/cc
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "load",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("events", metavar="EVENTS.jsonl", help="event file, or - for stdin")
    parser.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument("--quiet", action="store_true", help="no progress line or summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.config import ConfigError, load_settings
    from pipeline.load import load_lines
    from pipeline.report import Progress, read_lines
    from pipeline.store import StoreError, StoreURLError, open_store
    from pipeline.store.migrations import MigrationError, load_migrations, migrate

    def say(message: str) -> None:
        print(f"ccpipe load: {message}", file=sys.stderr)

    if args.events != "-" and not Path(args.events).is_file():
        say(f"no such file: {args.events}")
        return 2
    try:
        settings = load_settings(args.config, store=args.store)
        migrations = load_migrations()
        store = open_store(settings.store)
    except (ConfigError, StoreURLError, MigrationError, StoreError) as exc:
        say(str(exc))
        return 2
    shown = 0

    def on_bad(line: int, reason: str) -> None:
        nonlocal shown
        if not args.quiet and shown < 20:
            say(f"line {line}: {reason}")
        shown += 1

    started = time.monotonic()
    # Where a bad line came from, kept with it: the absolute path, so that loading the same
    # file again from another directory names it the same way.
    source = "stdin" if args.events == "-" else str(Path(args.events).resolve())
    try:
        migrate(store, migrations, log=lambda m: None if args.quiet else say(m))
        result = load_lines(
            read_lines(args.events),
            store,
            settings,
            source,
            progress=Progress(None if args.quiet else sys.stderr),
            on_bad=on_bad,
        )
    except (MigrationError, StoreError) as exc:
        say(f"{store.display_url}: {exc}")
        return 1
    finally:
        store.close()
    if not args.quiet:
        written = ", ".join(f"{table} {n:,}" for table, n in sorted(result.rows.items()))
        say(
            f"{result.lines:,} lines: {result.events:,} events, {result.bad:,} bad, "
            f"{result.duplicates:,} duplicates; rows written: {written or 'none'}; "
            f"{store.display_url} in {time.monotonic() - started:.1f} s"
        )
    return 0
