"""`ccpipe worker`: one stream worker (Faust) of the consumer group."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Start a stream worker: it consumes the events topic, keeps segment, FCR and interval state in
changelog-backed tables, and publishes interval rows to the intervals topic, segment rows to
the segments topic and bad events to the dead-letter topic. Start more workers with the same
settings to share the partitions; stop with Ctrl-C or SIGTERM.

At start-up the worker creates any of its topics that are missing (the public ones and its
own repartition and changelog topics) with the `partitions` setting, and refuses to start
when one exists with another partition count or cleanup policy.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker",
        help="run a stream worker (Faust) that computes the KPIs from Kafka",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument("--broker", help="Kafka bootstrap servers (default: $CCPIPE_BROKER)")
    parser.add_argument("--partitions", type=int, help="partitions of every topic (default 4)")
    parser.add_argument("--state-dir", help="where the worker keeps local state")
    parser.add_argument("--web-port", type=int, help="port of /metrics and the wallboard")
    parser.add_argument("--app-id", help="consumer group and internal topic prefix")
    parser.add_argument(
        "--loglevel", default="warning", choices=("debug", "info", "warning", "error")
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_settings

    try:
        settings = load_settings(
            args.config,
            broker=args.broker,
            partitions=args.partitions,
            state_dir=args.state_dir,
            web_port=args.web_port,
            app_id=args.app_id,
        )
    except ConfigError as exc:
        print(f"ccpipe worker: {exc}", file=sys.stderr)
        return 2
    from kafka.errors import KafkaError

    from pipeline.kafka.admin import TopicError
    from pipeline.stream.topics import ensure_worker_topics

    try:
        problems = ensure_worker_topics(settings)
    except (KafkaError, TopicError, OSError) as exc:
        print(
            f"ccpipe worker: cannot prepare the topics on {settings.broker}: {exc}", file=sys.stderr
        )
        return 1
    if problems:
        for problem in problems:
            print(f"ccpipe worker: {problem}", file=sys.stderr)
        print(
            "ccpipe worker: every topic needs the pipeline's partition count and cleanup "
            "policy (see `ccpipe topics create --help`)",
            file=sys.stderr,
        )
        return 2
    from pipeline.stream.faust_runtime import FaustRuntime, worker_for

    # Returns only through a signal, which exits the process.
    worker_for(FaustRuntime(settings), args.loglevel).execute_from_commandline()
    return 0
