"""`ccpipe wallboard`: the whole centre's live wallboard, served alone."""

from __future__ import annotations

import argparse
import sys

HELP = "serve the whole centre's live wallboard from the live topic (no worker needed)"
DESCRIPTION = """\
Read the live topic (`live_topic`, cc.live) from its start, where every worker publishes the
live state of the partitions it owns, merge the latest state of every partition, and serve
the wallboard of the whole centre:

  /wallboard        the page (wall screens: no keyboard needed)
  /wallboard.json   its state: tiles, day series, alerts, and how current the view is
  /live.json        the live figures per queue and channel
  /live/stream      the wallboard state as server-sent events, pushed on every change
  /metrics          what this process reads (ccpipe_live_*)

It keeps no state of its own and joins no consumer group, so any number can run behind a load
balancer; each computes the figures once per change for all its clients. Every worker serves
the same pages on its own port; this command is for wall screens that should not depend on
any one worker. Stop with Ctrl-C or SIGTERM.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "wallboard",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument("--broker", help="Kafka bootstrap servers (default: $CCPIPE_BROKER)")
    parser.add_argument("--host", help="address to listen on (default: the web_host setting)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (default: the wallboard_port setting, 6068)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_settings

    try:
        settings = load_settings(
            args.config,
            broker=args.broker,
            web_host=args.host,
            wallboard_port=args.port,
            flags={"web_host": "--host", "wallboard_port": "--port"},
        )
    except ConfigError as exc:
        print(f"ccpipe wallboard: {exc}", file=sys.stderr)
        return 2
    import asyncio

    from pipeline.liveview.server import serve

    try:
        asyncio.run(serve(settings, announce=lambda line: print(line, flush=True)))
    except OSError as exc:
        print(f"ccpipe wallboard: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0
