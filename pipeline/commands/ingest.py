"""`ccpipe ingest`: platform input, one record per message, to batches on the events topic."""

from __future__ import annotations

import argparse
import logging
import sys

DESCRIPTION = """\
Consume the input topic (`ingest_topic`, default cc.input) in a consumer group
(`ingest_group`): single v1 events, or a platform's own records converted as `ccpipe convert`
does (--from). Each event is validated against the contract, packed per partition of the
events topic by its key (the workers' partitioner) and produced as batch messages; the input
offsets are committed only after those batches, and the converters' pairing state (saved
per input partition in `ingest_state_topic`), are acknowledged. Bad records go to the
dead-letter topic with their reason. Start more processes with the same settings to share
the input's partitions; stop with Ctrl-C or SIGTERM.

With --http (TaskRouter only), also receive Twilio TaskRouter event callbacks on
`webhook_port` (path /taskrouter): each signed callback is written to the input topic and
answered 200 once Kafka has it. The auth token comes from CCPIPE_TWILIO_AUTH_TOKEN or the
file named by `twilio_auth_token_file`. docs/ingest.md has the whole route.

examples:
  ccpipe ingest                                     # v1 single events from cc.input
  ccpipe ingest --from connect-ctr                  # contact records a Kinesis bridge writes
  CCPIPE_TWILIO_AUTH_TOKEN=... ccpipe ingest --from taskrouter --http \\
      --contact-from attribute:call_sid
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline.adapters import FORMATS
    from pipeline.commands.convert import add_converter_options

    parser = sub.add_parser(
        "ingest",
        help="batch single events or platform records (and TaskRouter webhooks) into cc.events",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--from",
        dest="source",
        default="v1",
        choices=("v1", *FORMATS),
        help="what the input topic holds: v1 events (default) or a platform's records",
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="also receive TaskRouter event callbacks over HTTP (with --from taskrouter)",
    )
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument("--broker", help="Kafka bootstrap servers (default: $CCPIPE_BROKER)")
    parser.add_argument("--metrics-port", type=int, help="port of /metrics (0: none)")
    parser.add_argument("--webhook-port", type=int, help="port of the TaskRouter callbacks")
    parser.add_argument(
        "--loglevel", default="warning", choices=("debug", "info", "warning", "error")
    )
    add_converter_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.commands.convert import converter_options
    from pipeline.config import ConfigError, load_settings
    from pipeline.ingest.records import reader_factory
    from pipeline.ingest.service import IngestOptions, run_ingest

    logging.basicConfig(
        level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(
            args.config,
            broker=args.broker,
            ingest_metrics_port=args.metrics_port,
            webhook_port=args.webhook_port,
            flags={"ingest_metrics_port": "--metrics-port"},
        )
        options = converter_options(args)
        make_reader = reader_factory(args.source, options)
    except (ConfigError, ValueError) as exc:
        print(f"ccpipe ingest: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # --queue-names FILE
        print(f"ccpipe ingest: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    key_of = None
    if args.http:
        if args.source != "taskrouter":
            print("ccpipe ingest: --http receives TaskRouter callbacks: add --from taskrouter",
                  file=sys.stderr)  # fmt: skip
            return 2
        from pipeline.adapters.taskrouter import TaskRouterConverter

        key_of = TaskRouterConverter(**options).key
    return run_ingest(
        settings,
        IngestOptions(make_reader, key_of, args.http, settings.ingest_metrics_port),
    )
