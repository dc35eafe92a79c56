"""`ccpipe sink`: write what the stream emits to the store, committing offsets after."""

from __future__ import annotations

import argparse
import sys

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
    from pipeline.config import Settings

    # Each flag overrides a setting; the help shows the setting's default, defined there.
    defaults = Settings()
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
        help="write a table's batch at this many rows "
        f"(default: sink_batch_rows, {defaults.sink_batch_rows})",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        metavar="S",
        help="... or when its oldest message is this old "
        f"(default: sink_batch_seconds, {defaults.sink_batch_seconds})",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="port of /metrics; 0: do not serve "
        f"(default: sink_metrics_port, {defaults.sink_metrics_port})",
    )
    parser.add_argument(
        "--sql-port",
        type=int,
        metavar="PORT",
        help="loopback port of the SQL endpoint on a chdb store; 0: any free port, written "
        f"to <store>/.owner.json (default: sink_sql_port, {defaults.sink_sql_port})",
    )
    parser.add_argument("--group", metavar="ID", help="consumer group (default: <app_id>-sink)")
    parser.add_argument(
        "--no-migrate", action="store_true", help="do not apply the schema migrations first"
    )
    parser.add_argument("--loglevel", default="info", choices=("debug", "info", "warning", "error"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from pipeline.config import ConfigError, load_settings
    from pipeline.sink.service import SinkOptions, flush_policy, run_sink

    try:
        settings = load_settings(
            args.config,
            store=args.store,
            broker=args.broker,
            sink_batch_rows=args.batch_rows,
            sink_batch_seconds=args.batch_seconds,
            sink_metrics_port=args.metrics_port,
            sink_sql_port=args.sql_port,
            flags={
                "sink_batch_rows": "--batch-rows",
                "sink_batch_seconds": "--batch-seconds",
                "sink_metrics_port": "--metrics-port",
                "sink_sql_port": "--sql-port",
            },
        )
        flush_policy(settings)  # refuse a batch size it cannot use before anything starts
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
    return run_sink(settings, SinkOptions(group=args.group, migrate=not args.no_migrate))
