"""`ccpipe check`: prove that the stored figures add up, or list what does not."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeline.commands.recompute import add_range, over_range

if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.recompute import Scope
    from pipeline.reconcile import Difference
    from pipeline.store import Store

HELP = "prove that stored interval rows equal their segments and add up to each day"
DESCRIPTION = """\
For a range of days (in the settings' time zone, both included), compare in the store:

  stream = segments   every interval row the stream wrote, count by count, with the same
                      interval counted in SQL from the stored segments (view
                      kpi_reconciliation);
  intervals = day     per local day of each tenant's time zone, the sum of the day's
                      interval rows with the day counted in one piece from its segments
                      (a query of pipeline/reconcile.py).

  live = day          with --live: the live topic read from Kafka to its end, each channel's
                      live "today" counts against the stored interval rows of that day
                      (run it once the sink has caught up with the workers).

Every difference is listed with the row it names; the exit status is 1 if there is any, 0
if none.

examples:
  ccpipe check --from 2026-11-16 --to 2026-11-22
  ccpipe check --from 2026-11-22 --to 2026-11-22 --queue sales
  ccpipe check --from 2026-11-22 --to 2026-11-22 --live
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
    parser.add_argument(
        "--live",
        action="store_true",
        help="also read the live topic (Kafka, `live_topic`) and compare each channel's live "
        "'today' counts with the stored interval rows of that day",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.reconcile import day_differences, interval_differences

    def say(message: str) -> None:
        print(f"ccpipe check: {message}", file=sys.stderr)

    def work(store: Store, settings: Settings, scope: Scope) -> int:
        zones = [settings.timezone, *(t.timezone for t in settings.tenants.values() if t.timezone)]
        differences = interval_differences(store, scope) + day_differences(store, scope, zones)
        if args.live:
            differences += _live(store, settings, say)
        for difference in differences:
            say(str(difference))
        if differences:
            say(f"{len(differences)} differences from {args.first} to {args.last}")
            return 1
        say(f"no differences from {args.first} to {args.last}")
        return 0

    return over_range(args, say, work)


def _live(store: Store, settings: Settings, say: Callable[[str], None]) -> list[Difference]:
    """The live view's 'today' per channel against the stored rows of that day."""
    import asyncio

    from pipeline.core.clock import format_utc
    from pipeline.liveview.reader import read_to_end
    from pipeline.liveview.view import CentreView
    from pipeline.reconcile import live_differences

    view = CentreView(settings.partitions, settings.tenant_timezone)
    read = asyncio.run(read_to_end(settings, view))
    tiles = view.live(per_channel=True)
    latest = read - view.counts["superseded"]
    say(f"live view: {read:,} publications read ({latest:,} the latest of their keys), "
        f"{len(tiles):,} tiles at event time "
        f"{format_utc(view.watermark_us) if view.watermark_us >= 0 else 'none'}")  # fmt: skip
    return live_differences(store, tiles, view.watermark_us, settings.tenant_timezone)
