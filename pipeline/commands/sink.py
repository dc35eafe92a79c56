"""`ccpipe sink`: write what the stream emits to the store, committing offsets after."""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "write the stream's output (events, segments, interval rows) to the store"
DESCRIPTION = """\
Consume the events topic (raw events, agent states and bad input), the segments topic and
the intervals topic, and write them to the store in columnar batches: a table's batch is
written when it holds --batch-rows rows or its oldest message is --batch-seconds old, and
Kafka offsets are committed only after every row they produced is in ClickHouse. A replay
after a crash writes the same rows again, which the replacing tables collapse: no documented
query shows a duplicate.

When ClickHouse cannot be reached the sink pauses consumption, keeps its group membership,
retries with backoff, says so in the log and in ccpipe_sink_store_up, and goes on where it
stopped when the server is back. Metrics: http://<web_host>:<metrics-port>/metrics.

It migrates the schema first (skip with --no-migrate). On a chdb store it is the store's one
owner and serves read-only SQL on loopback, which `ccpipe sql` in another terminal uses.
Stop with Ctrl-C or SIGTERM: what is held is written if the store takes it at once.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sink",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    parser.add_argument("--broker", help="Kafka bootstrap servers (default: $CCPIPE_BROKER)")
    parser.add_argument(
        "--batch-rows",
        type=int,
        metavar="N",
        help="write a table's batch at this many rows (default 5000)",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        metavar="S",
        help="... or when its oldest message is this old (default 1.0)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="port of /metrics (default 6067; 0: do not serve)",
    )
    parser.add_argument(
        "--sql-port",
        type=int,
        metavar="PORT",
        help="loopback port of the SQL endpoint on a chdb store (default 0: any free port, "
        "written to <store>/.owner.json)",
    )
    parser.add_argument("--group", metavar="ID", help="consumer group (default: <app_id>-sink)")
    parser.add_argument(
        "--no-migrate", action="store_true", help="do not apply the schema migrations first"
    )
    parser.add_argument("--loglevel", default="info", choices=("debug", "info", "warning", "error"))
    parser.set_defaults(func=run)


def _setting(args: argparse.Namespace, settings: Any, name: str, default: Any) -> Any:
    """A flag, else a `sink_<name>` setting (once the settings carry it), else the default."""
    flag = getattr(args, name)
    if flag is not None:
        return flag
    return getattr(settings, f"sink_{name}", default)


def run(args: argparse.Namespace) -> int:
    import logging

    from pipeline.config import ConfigError, load_settings
    from pipeline.sink.policy import DEFAULT_BATCH_ROWS, DEFAULT_BATCH_SECONDS, FlushPolicy
    from pipeline.sink.service import SinkOptions, run_sink

    try:
        settings = load_settings(args.config, store=args.store, broker=args.broker)
        policy = FlushPolicy(
            rows=_setting(args, settings, "batch_rows", DEFAULT_BATCH_ROWS),
            seconds=_setting(args, settings, "batch_seconds", DEFAULT_BATCH_SECONDS),
        )
    except (ConfigError, ValueError) as exc:
        print(f"ccpipe sink: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.loglevel.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # kafka-python logs every retried connection at WARNING; the sink reports its own state.
    logging.getLogger("kafka").setLevel(max(logging.ERROR, logging.getLogger().level))
    options = SinkOptions(
        policy=policy,
        metrics_port=_setting(args, settings, "metrics_port", 6067),
        sql_port=_setting(args, settings, "sql_port", 0),
        group=args.group,
        migrate=not args.no_migrate,
    )
    return run_sink(settings, options)
