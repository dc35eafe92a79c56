"""`ccpipe kpis`: the offline KPI report over a JSONL file."""

from __future__ import annotations

import argparse
import sys

from pipeline.output_format import FORMATS

HELP = "compute the contract's KPI rows per interval from a JSONL event file"
DESCRIPTION = """\
Read v1 events (one JSON object per line, or a JSON array of events per line) and print one
row per (tenant, queue, channel, 15-minute interval) with every KPI of the contract, sorted by
that key. Thresholds come from --config (per queue) or the contract's defaults. Bad lines are
reported on stderr with their line number and reason, written to --dlq when given, and never
stop the run.

example: ccpipe simulate --contacts 20000 --seed 7 | ccpipe kpis - --format table
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "kpis",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("events", metavar="EVENTS.jsonl", help="event file, or - for stdin")
    parser.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="jsonl",
        help="output format (default: jsonl)",
    )
    parser.add_argument(
        "--dlq",
        metavar="FILE",
        help="write each bad line here as JSON: its line number, reason and original text",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line or summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from pipeline.config import ConfigError, load_settings
    from pipeline.core.intervals import KEY_FIELDS, REPORT_FIELDS
    from pipeline.output_format import REPORT_TABLE, write_rows
    from pipeline.report import BadLine, Progress, read_lines, run_report

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"ccpipe kpis: {exc}", file=sys.stderr)
        return 2
    dlq = open(args.dlq, "wb") if args.dlq else None  # noqa: SIM115 - closed below
    shown = 0

    def on_bad(bad: BadLine) -> None:
        nonlocal shown
        if shown < 100:
            print(f"line {bad.line}: {bad.reason}", file=sys.stderr)
        elif shown == 100:
            print("... more bad lines (see --dlq for all of them)", file=sys.stderr)
        shown += 1
        if dlq is not None:
            raw = bad.raw.decode("utf-8", errors="backslashreplace")
            dlq.write(orjson.dumps({"line": bad.line, "reason": bad.reason, "raw": raw}))
            dlq.write(b"\n")

    try:
        progress = Progress(None if args.quiet else sys.stderr)
        report = run_report(read_lines(args.events), settings, on_bad=on_bad, progress=progress)
    except FileNotFoundError:
        print(f"ccpipe kpis: no such file: {args.events}", file=sys.stderr)
        return 2
    finally:
        if dlq is not None:
            dlq.close()
    write_rows(
        args.format,
        REPORT_FIELDS,
        [[row[f] for f in REPORT_FIELDS] for row in report.rows],
        sys.stdout.buffer,
        REPORT_TABLE,
        numeric=[f not in KEY_FIELDS for f in REPORT_FIELDS],
    )
    sys.stdout.buffer.flush()
    if not args.quiet:
        print(
            f"{report.lines:,} lines: {report.events:,} events, {report.bad:,} bad, "
            f"{report.duplicates:,} duplicates, {report.anomalies:,} anomalies; "
            f"{len(report.rows):,} interval rows",
            file=sys.stderr,
        )
    return 0
