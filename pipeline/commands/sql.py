"""`ccpipe sql`: run one SQL statement on the configured store and print the result."""

from __future__ import annotations

import argparse
import sys

from pipeline.output_format import FORMATS

HELP = "run a SQL query on the configured store (table, csv or jsonl output)"
DESCRIPTION = """\
Run one ClickHouse SQL statement on the store and print its rows. Query parameters use
ClickHouse's placeholders, {name:Type}, bound by the engine: pass each with --param
NAME=VALUE. Ready queries for analysts are in docs/queries.md.

Times print as RFC 3339 UTC (2026-11-22T09:15:00Z) and floats in full, so
`ccpipe sql --format jsonl "SELECT * FROM kpi_interval_report ORDER BY ..."` prints the
same lines as `ccpipe kpis` on the same events.

A chdb store has one owner process. While `ccpipe sink` owns it, `ccpipe sql` sends the
query to the sink's loopback endpoint (found in <store>/.owner.json) instead; only read-only
statements (SELECT, SHOW, DESCRIBE, WITH, EXPLAIN) go that way.

examples:
  ccpipe sql "SELECT queue, sum(offered) FROM kpi_interval_report GROUP BY queue"
  ccpipe sql --param day=2026-11-22 --format csv \\
      "SELECT * FROM kpi_interval_report WHERE toDate(interval_start) = {day:Date}"
  echo "SELECT count() FROM segments FINAL" | ccpipe sql -
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sql",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("query", metavar="QUERY", help="the SQL statement, or - to read stdin")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="output format (default: table)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for the query's {NAME:Type} placeholder (repeatable)",
    )
    parser.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_settings
    from pipeline.output_format import write_rows
    from pipeline.store import StoreBusy, StoreError, StoreURLError, open_store

    def say(message: str) -> int:
        print(f"ccpipe sql: {message}", file=sys.stderr)
        return 2

    query = sys.stdin.read() if args.query == "-" else args.query
    if not query.strip():
        return say("empty query")
    params: dict[str, str] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            return say(f"--param {item!r} is not NAME=VALUE")
        params[name] = value
    try:
        settings = load_settings(args.config, store=args.store)
        store = open_store(settings.store)
    except StoreBusy as exc:
        return _through_owner(settings.store, str(exc), query, params, args.format)
    except (ConfigError, StoreURLError, StoreError) as exc:
        return say(str(exc))
    try:
        result = store.query(query, params or None)
    except StoreError as exc:
        say(str(exc))
        return 1
    finally:
        store.close()
    write_rows(args.format, result.columns, result.rows, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


def _through_owner(url: str, busy: str, query: str, params: dict[str, str], fmt: str) -> int:
    """The store is owned by another process: ask it, if it serves queries (a sink does)."""
    from pipeline.sink.owner import OwnerError, ask_owner, find_owner
    from pipeline.store.url import ChdbURL, parse_store_url

    store = parse_store_url(url)
    assert isinstance(store, ChdbURL)  # only chdb stores have one owner
    try:
        output = ask_owner(find_owner(store.path), query, params, fmt)
    except OwnerError as exc:
        print(f"ccpipe sql: {busy}\nccpipe sql: {exc}", file=sys.stderr)
        return exc.exit_code
    sys.stdout.buffer.write(output)
    sys.stdout.buffer.flush()
    return 0
