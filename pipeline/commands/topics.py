"""`ccpipe topics create`: the pipeline's Kafka topics, with their partitions and retention."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Create the pipeline's topics if they are missing: the events topic (cc.events, kept 7 days),
its dead-letter topic (cc.events.dlq, kept 30 days), the compacted interval topic
(cc.kpi.intervals: the latest message per key is the full state of that interval) and the
segment topic (cc.segments: batches of segment rows, kept 7 days), and the workers' own
topics, named by the app id: two repartition topics (<app_id>-fcr-updates,
<app_id>-interval-partials) and five compacted table changelogs (<app_id>-<table>-changelog).
Names and the partition count come from the settings. Topics that exist are left alone; one
with another partition count or cleanup policy is reported, and the exit code is 1, since
the workers need every topic with the same partition count.

example: ccpipe topics create --partitions 8 --broker localhost:9092
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "topics",
        help="create the pipeline's Kafka topics (idempotent)",
        description="Manage the pipeline's Kafka topics.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="create missing topics, check existing ones",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument(
        "--partitions",
        type=int,
        help="partitions per topic (default: the `partitions` setting, 4)",
    )
    create.add_argument(
        "--broker",
        help="bootstrap servers, host:port[,host:port] (default: the `broker` setting, "
        "CCPIPE_BROKER); security comes from CCPIPE_BROKER_* variables, see docs/kafka.md",
    )
    create.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    create.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the broker (default 30)"
    )
    create.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from pipeline.config import ConfigError, load_settings
    from pipeline.kafka.admin import TopicError, ensure_topics, pipeline_topics
    from pipeline.kafka.connection import BrokerConnection
    from pipeline.stream.topics import internal_topics

    try:
        settings = load_settings(args.config)
        connection = BrokerConnection.from_settings(settings, broker=args.broker)
        specs = pipeline_topics(settings, args.partitions) + internal_topics(
            settings, args.partitions
        )
    except (ConfigError, ValueError) as exc:
        print(f"ccpipe topics: {exc}", file=sys.stderr)
        return 2
    timeout_ms = int(args.timeout * 1000)
    try:
        admin = KafkaAdminClient(
            client_id="ccpipe-topics",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            **connection.kafka_python_kwargs(),
        )
    except (KafkaError, OSError) as exc:
        print(
            f"ccpipe topics: cannot reach the broker at {connection.bootstrap_string}: {exc}",
            file=sys.stderr,
        )
        return 1
    try:
        outcomes = ensure_topics(admin, specs, timeout_s=args.timeout)
    except (KafkaError, TopicError, OSError) as exc:
        print(f"ccpipe topics: {exc}", file=sys.stderr)
        return 1
    finally:
        admin.close()
    for outcome in outcomes:
        stream = sys.stderr if outcome.status == "mismatch" else sys.stdout
        print(outcome.describe(), file=stream)
    if any(outcome.status == "mismatch" for outcome in outcomes):
        print(
            "ccpipe topics: every topic a worker reads or writes needs the pipeline's partition "
            "count and cleanup policy: set `partitions` to match the topics, or delete and "
            "recreate them (their data is lost)",
            file=sys.stderr,
        )
        return 1
    return 0
