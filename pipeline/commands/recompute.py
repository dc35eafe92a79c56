"""`ccpipe recompute`: rebuild stored interval rows with the settings in force."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.recompute import Scope
    from pipeline.store import Store

HELP = "rebuild stored interval rows from the stored segments with the settings in force"
DESCRIPTION = """\
Rebuild the interval rows of a range of days (in the settings' time zone, both days
included) from the stored segments, each interval with the version of its queue's settings
in force on its date (a queue's `effective_from` versions, docs/definitions.md), or with
those of another settings file (--settings). Rows are replaced in place: an interval keeps
one row, whose counts, KPIs and `settings_version` become the recomputed ones; an interval
that does not change is not written. Prints a progress line, then how many rows changed and
the largest change of each KPI.

A chdb store is owned by one process: stop a `ccpipe sink` that owns it first.

examples:
  ccpipe recompute --from 2026-11-16 --to 2026-11-22
  ccpipe recompute --from 2026-11-01 --to 2026-11-30 --queue sales --settings what-if.yaml
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "recompute",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_range(parser)
    parser.add_argument("--queue", help="only this queue (default: every queue)")
    parser.add_argument(
        "--settings",
        "--config",
        dest="config",
        metavar="FILE",
        help="YAML settings file to recompute with (default: $CCPIPE_CONFIG)",
    )
    parser.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    parser.set_defaults(func=run)


def add_range(parser: argparse.ArgumentParser) -> None:
    """--from and --to, days both included (shared with `ccpipe check`)."""
    parser.add_argument(
        "--from", dest="first", type=date.fromisoformat, required=True, metavar="DAY",
        help="first day, such as 2026-11-16",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="last", type=date.fromisoformat, required=True, metavar="DAY",
        help="last day, included",
    )  # fmt: skip


def day_range_us(first: date, last: date, zone_name: str) -> tuple[int, int]:
    """[first 00:00, the day after last 00:00) in the zone, in microseconds."""
    from zoneinfo import ZoneInfo

    from pipeline.core.clock import day_start_us

    zone = ZoneInfo(zone_name)
    return day_start_us(first, zone), day_start_us(last + timedelta(days=1), zone)


def over_range(
    args: argparse.Namespace,
    say: Callable[[str], None],
    work: Callable[[Store, Settings, Scope], int],
) -> int:
    """Open the settings and the migrated store, and run `work` on the days of --from and
    --to (and --queue): its exit status, else 2 for bad arguments or settings, 1 when the
    store fails (shared with `ccpipe check`)."""
    from pipeline.config import ConfigError, load_settings
    from pipeline.recompute import Scope
    from pipeline.store import StoreError, StoreURLError, open_store
    from pipeline.store.migrations import MigrationError, load_migrations, migrate

    if args.last < args.first:
        say(f"--to {args.last} is before --from {args.first}")
        return 2
    try:
        settings = load_settings(args.config, store=args.store)
        migrations = load_migrations()
        store = open_store(settings.store)
    except (ConfigError, StoreURLError, MigrationError, StoreError) as exc:
        say(str(exc))
        return 2
    scope = Scope(*day_range_us(args.first, args.last, settings.timezone), args.queue)
    try:
        migrate(store, migrations, log=lambda m: None)
        return work(store, settings, scope)
    except (MigrationError, StoreError) as exc:
        say(f"{store.display_url}: {exc}")
        return 1
    finally:
        store.close()


def run(args: argparse.Namespace) -> int:
    from pipeline.core.clock import format_utc
    from pipeline.recompute import recompute

    def say(message: str) -> None:
        print(f"ccpipe recompute: {message}", file=sys.stderr)

    def progress(message: str) -> None:
        sys.stderr.write(f"\rccpipe recompute: {message}\x1b[K")
        sys.stderr.flush()

    def work(store: Store, settings: Settings, scope: Scope) -> int:
        result = recompute(store, settings, scope, progress)
        sys.stderr.write("\n")
        say(
            f"{result.intervals:,} intervals with segments, {len(result.changed):,} rows "
            f"changed, {result.segments_rewritten:,} segments given new thresholds"
        )
        for kpi, change in sorted(result.largest.items()):
            tenant, queue, channel, start_us = change.key
            say(
                f"  {kpi}: {_shown(change.old)} -> {_shown(change.new)} "
                f"({tenant}/{queue}/{channel} {format_utc(start_us)})"
            )
        return 0

    return over_range(args, say, work)


def _shown(value: float | None) -> str:
    return "null" if value is None else f"{value:.6g}"
