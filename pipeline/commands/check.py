"""`ccpipe check`: prove that the stored figures add up, or list what does not."""

from __future__ import annotations

import argparse
import sys

from pipeline.commands.recompute import add_range, day_range_us

HELP = "prove that stored interval rows equal their segments and add up to each day"
DESCRIPTION = """\
For a range of days (in the settings' time zone, both included), compare in the store:

  stream = segments   every interval row the stream wrote, count by count, with the same
                      interval counted in SQL from the stored segments (view
                      kpi_reconciliation);
  intervals = day     per local day of each tenant's time zone, the sum of the day's
                      interval rows with the day counted in one piece from its segments
                      (view kpi_day_reconciliation).

Every difference is listed with the row it names; the exit status is 1 if there is any, 0
if none. (The third check, the live "today" against the day's intervals, runs where the live
view is: pipeline.reconcile.live_differences; docs/definitions.md.)

examples:
  ccpipe check --from 2026-11-16 --to 2026-11-22
  ccpipe check --from 2026-11-22 --to 2026-11-22 --queue sales
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "check",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_range(parser)
    parser.add_argument("--queue", help="only this queue (default: every queue)")
    parser.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_settings
    from pipeline.recompute import Scope
    from pipeline.reconcile import day_differences, interval_differences
    from pipeline.store import StoreError, StoreURLError, open_store
    from pipeline.store.migrations import MigrationError, load_migrations, migrate

    def say(message: str) -> None:
        print(f"ccpipe check: {message}", file=sys.stderr)

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
    zones = [settings.timezone, *(t.timezone for t in settings.tenants.values() if t.timezone)]
    try:
        migrate(store, migrations, log=lambda m: None)
        differences = interval_differences(store, scope) + day_differences(store, scope, zones)
    except (MigrationError, StoreError) as exc:
        say(f"{store.display_url}: {exc}")
        return 1
    finally:
        store.close()
    for difference in differences:
        say(str(difference))
    if differences:
        say(f"{len(differences)} differences from {args.first} to {args.last}")
        return 1
    say(f"no differences from {args.first} to {args.last}")
    return 0
