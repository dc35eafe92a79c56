"""The `ccpipe` command line: one subcommand per module in `pipeline.commands`.

Each command module exposes `register(subparsers)`, which adds its parser and sets
`func` to a callable taking the parsed args and returning an exit code. Command modules
import heavy dependencies (Faust, chdb, Kafka clients) inside their run function, so that
`ccpipe --help` and the fast commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Order here is the order `ccpipe --help` lists them.
COMMANDS: tuple[str, ...] = (
    "simulate",
    "kpis",
    "staffing",
    "convert",
    "produce",
    "ingest",
    "topics",
    "worker",
    "migrate",
    "load",
    "recompute",
    "check",
    "sql",
    "sink",
    "wallboard",
    "rules",
    "grafana",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccpipe",
        description=(
            "Real-time contact-centre analytics: simulate or convert events, compute the KPIs "
            "of the v1 contract offline or in a Faust stream, store them in ClickHouse, and "
            "expose them to Prometheus and Grafana."
        ),
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"pipeline.commands.{name}").register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ccpipe {version('ccpipe')}"
    except PackageNotFoundError:
        return "ccpipe (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.runtime import tune_gc

    tune_gc()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `ccpipe kpis ... | head` closes our stdout early; that is not an error.
        sys.stderr.close()
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
