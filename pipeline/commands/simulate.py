"""`ccpipe simulate`: v1 contract events from a simulated contact centre, as JSONL."""

from __future__ import annotations

import argparse
import sys
import time

HELP = "write realistic v1 contract events from a simulated contact centre as JSONL"
DESCRIPTION = """\
Simulate a contact centre (agents on shifts serving sales, support and billing over voice,
chat, email, sms, social and callback, first come first served; callers with finite patience;
transfers, repeat contacts, surveys) and write its events as JSONL, one compact JSON object
a line, in timestamp order except for a share of late and duplicated events. The same
--contacts, --seed, --start and shares give the same bytes. See docs/simulator.md.

A run of up to --contacts-per-day contacts is one day at that volume; more span several days.

examples:
  ccpipe simulate --contacts 20000 --seed 7 > day.jsonl
  ccpipe simulate --contacts 20000 --seed 7 | ccpipe kpis - --format table
  ccpipe simulate --contacts 200000 --seed 1 --speed 60   # a simulated minute a second
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def _speed(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "simulate",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--contacts",
        type=_positive_int,
        required=True,
        metavar="N",
        help="number of contacts (arrivals, repeats included) to simulate",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed; same seed, same output (default: 1)"
    )
    parser.add_argument(
        "--start",
        metavar="TS",
        default="2026-11-23T07:00:00Z",
        help="RFC 3339 time the centre first opens; it opens at that time of day every day "
        "(default: 2026-11-23T07:00:00Z)",
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        metavar="X",
        help="pace the output at X times real time (60: a simulated minute a second); "
        "default: as fast as possible",
    )
    parser.add_argument(
        "--tenant", help="tenant field on every event (default: none, i.e. default)"
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write here instead of stdout (- for stdout)"
    )
    parser.add_argument(
        "--late-share",
        type=_share,
        default=0.01,
        metavar="F",
        help="share of events delivered seconds to minutes late, out of order (default: 0.01)",
    )
    parser.add_argument(
        "--duplicate-share",
        type=_share,
        default=0.005,
        metavar="F",
        help="share of events delivered twice, same event_id (default: 0.005)",
    )
    parser.add_argument(
        "--contacts-per-day",
        type=_positive_int,
        default=20_000,
        metavar="N",
        help="volume of a full day, the scale of the centre (default: 20000)",
    )
    parser.add_argument("--quiet", action="store_true", help="no summary on stderr")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from pipeline.core.clock import parse_rfc3339
    from pipeline.simulator import CentreConfig, Disorder, simulate_timed, write_jsonl

    try:
        start_us = parse_rfc3339(args.start)
    except ValueError as exc:
        print(f"ccpipe simulate: --start: {exc}", file=sys.stderr)
        return 2
    if args.contacts_per_day < 1:
        print("ccpipe simulate: --contacts-per-day must be at least 1", file=sys.stderr)
        return 2
    config = dataclasses.replace(CentreConfig(), contacts_per_day=args.contacts_per_day)
    timed = simulate_timed(
        args.contacts,
        args.seed,
        start_us,
        tenant=args.tenant,
        disorder_spec=Disorder(args.late_share, args.duplicate_share),
        config=config,
    )
    began = time.perf_counter()
    if args.output and args.output != "-":
        with open(args.output, "wb") as out:
            lines = write_jsonl(timed, out, args.speed)
    else:
        lines = write_jsonl(timed, sys.stdout.buffer, args.speed)
    took = time.perf_counter() - began
    if not args.quiet:
        print(
            f"ccpipe simulate: {args.contacts:,} contacts, {lines:,} events "
            f"in {took:.1f} s ({lines / max(took, 1e-9):,.0f} events/s)",
            file=sys.stderr,
        )
    return 0
