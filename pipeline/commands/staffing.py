"""`ccpipe staffing`: staffing advice from the Erlang models (pipeline/core/erlang.py).

`ccpipe staffing erlang` is the planner's calculator.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.core.erlang import ServiceTarget, Traffic

HELP = "staffing advice from Erlang C and Erlang A: `staffing erlang` is the calculator"
DESCRIPTION = """\
Staffing advice from the Erlang models (docs/staffing.md).

subcommands:
  erlang   the agents a forecast needs for a service-level target, and what a few more or
           fewer would give
  history  required agents against staffed per 15-minute interval, from the store
"""
HISTORY_HELP = "required against staffed per 15-minute interval of stored days (what if)"
HISTORY_DESCRIPTION = """\
For each 15-minute interval of the days --from to --to (both included, in the settings' time
zone) and each queue and channel: the agents its stored traffic needed for its service-level
target (offers over the interval, its handle time, and patience from its abandons when it has
`targets.staffing.min_abandons` of them: Erlang A, else C; the same maths as the live view),
the queue's total need, the agents it had on the floor on average (available, busy or in
after-contact work, from the agents' stored states) and the gap. --sl-target and
--sl-threshold-s replace the settings' to ask "what if".

example: ccpipe staffing history --from 2026-11-23 --to 2026-11-23 --queue support
"""
ERLANG_HELP = "required agents for a service-level target, Erlang C or (with --patience-s) A"
ERLANG_DESCRIPTION = """\
The agents on the floor that a queue needs to answer --sl-target of its contacts within
--sl-threshold-s seconds, and a row per agent count around that answer with the probability
of waiting, the service level, the average speed of answer (ASA, mean wait of answered
contacts) and the occupancy. Erlang C assumes callers wait as long as it takes; with
--patience-s the model is Erlang A, where callers hang up after an exponential patience of
that mean, and the rows add the probability of abandoning and the mean wait of all contacts.

Service level is the contract's: answered within the threshold over answered + abandoned,
where abandons quicker than --short-abandon-s count in neither (Erlang C has no abandons).
Assumes Poisson arrivals at a steady rate over the interval, exponential handle times, one
skill: docs/staffing.md says what that leaves out.

example (100 calls in half an hour, 3-minute handle time, 80 % within 20 s: 14 agents):
  ccpipe staffing erlang --offered 100 --interval-s 1800 --aht-s 180 \\
      --sl-threshold-s 20 --sl-target 0.8
  ... --patience-s 120 --short-abandon-s 5 --shrinkage 0.3 --format json
"""
ROWS_AROUND = 3  # agent counts shown below and above the answer
# The option that holds each input of the core (StaffingError.field), for error messages.
OPTIONS = {
    "offered": "--offered",
    "interval_s": "--interval-s",
    "rate_per_s": "--offered",
    "aht_s": "--aht-s",
    "patience_s": "--patience-s",
    "threshold_s": "--sl-threshold-s",
    "service_level": "--sl-target",
    "short_abandon_s": "--short-abandon-s",
    "max_occupancy": "--max-occupancy",
    "shrinkage": "--shrinkage",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "staffing",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="staffing_command", metavar="SUBCOMMAND", required=True)
    erlang = commands.add_parser(
        "erlang",
        help=ERLANG_HELP,
        description=ERLANG_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Numbers are read as text and checked in `run_erlang`, so that a bad one gets a single
    # line naming its option (argparse would print the usage too).
    needed = erlang.add_argument_group("the forecast and the target (all required)")
    needed.add_argument(
        "--offered", required=True, metavar="N", help="contacts offered in the interval, e.g. 100"
    )
    needed.add_argument(
        "--interval-s",
        required=True,
        metavar="S",
        help="length of the interval in seconds, e.g. 1800 for half an hour",
    )
    needed.add_argument(
        "--aht-s",
        required=True,
        metavar="H",
        help="average handle time in seconds (talk + hold + after-contact work), e.g. 180",
    )
    needed.add_argument(
        "--sl-threshold-s",
        required=True,
        metavar="T",
        help="service-level threshold in seconds: answered within T counts, e.g. 20",
    )
    needed.add_argument(
        "--sl-target",
        required=True,
        metavar="X",
        help="share to answer within T, between 0 and 1 (exclusive), e.g. 0.8 for 80 %%",
    )
    optional = erlang.add_argument_group("the model and the output (optional)")
    optional.add_argument(
        "--patience-s",
        metavar="P",
        help="callers' mean patience in seconds: use Erlang A (exponential patience) instead "
        "of Erlang C, e.g. 120",
    )
    optional.add_argument(
        "--short-abandon-s",
        metavar="S",
        default="0",
        help="with --patience-s: abandons quicker than this many seconds count in neither "
        "side of the service level, as the contract's short_abandon_s (voice: 5); default 0",
    )
    optional.add_argument(
        "--max-occupancy",
        metavar="O",
        help="keep the agents' busy share at or under O (0 < O <= 1), e.g. 0.85",
    )
    optional.add_argument(
        "--shrinkage",
        metavar="F",
        default="0",
        help="share of scheduled time off the floor (breaks, training, absence), 0 <= F < 1: "
        "required_agents is then the agents to schedule, e.g. 0.3; default 0",
    )
    optional.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table (default) or json: {required_agents, required_on_floor, limited_by, "
        "model, rows: [{agents, p_wait, service_level, asa_s, occupancy, "
        "(p_abandon, abandon_rate, mean_wait_s)}]}",
    )
    erlang.set_defaults(func=run_erlang)
    _register_history(commands)


def _register_history(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline.commands.recompute import add_range

    history = commands.add_parser(
        "history",
        help=HISTORY_HELP,
        description=HISTORY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_range(history)
    history.add_argument("--queue", help="only this queue (default: every queue)")
    history.add_argument("--sl-target", type=float, metavar="X", help="what if the target were X")
    history.add_argument(
        "--sl-threshold-s", type=float, metavar="T", help="what if the threshold were T seconds"
    )
    history.add_argument(
        "--format", choices=("table", "csv", "jsonl"), default="table", help="default: table"
    )
    history.add_argument("--store", metavar="URL", help="store URL (default: from settings)")
    history.add_argument("--config", help="YAML settings file (default: $CCPIPE_CONFIG)")
    history.set_defaults(func=run_history)


def run_history(args: argparse.Namespace) -> int:
    from pipeline.commands.recompute import over_range
    from pipeline.core.clock import format_utc
    from pipeline.output_format import write_rows
    from pipeline.staffing_history import COLUMNS, history_rows

    def say(message: str) -> None:
        print(f"ccpipe staffing history: {message}", file=sys.stderr)

    if args.sl_target is not None and not 0 < args.sl_target < 1:
        say(f"--sl-target must be between 0 and 1 (exclusive), not {args.sl_target}")
        return 2
    if args.sl_threshold_s is not None and args.sl_threshold_s <= 0:
        say(f"--sl-threshold-s must be more than 0, not {args.sl_threshold_s}")
        return 2

    def progress(n: int) -> None:
        if n and n % 500 == 0:
            say(f"{n:,} queue intervals advised")

    def work(store: Any, settings: Any, scope: Any) -> int:
        rows = [
            (format_utc(row[0]), *row[1:])
            for row in history_rows(
                store, settings, scope, args.sl_target, args.sl_threshold_s, progress
            )
        ]
        if not rows:
            say(
                "no stored interval in that range"
                + (f" for queue {args.queue}" if args.queue else "")
            )
            return 1
        write_rows(args.format, COLUMNS, rows, sys.stdout.buffer)
        return 0

    return over_range(args, say, work)


class _BadOption(Exception):
    """An option's value that is not a number."""


def _number(args: argparse.Namespace, name: str) -> float:
    text = getattr(args, name.replace("-", "_"))
    try:
        value = float(text)
    except ValueError:
        raise _BadOption(f"--{name}: must be a number, not {text!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise _BadOption(f"--{name}: must be a finite number, not {text!r}")
    return value


def run_erlang(args: argparse.Namespace) -> int:
    from pipeline.core.erlang import ServiceTarget, StaffingError, Traffic

    try:
        patience = None if args.patience_s is None else _number(args, "patience-s")
        occupancy = None if args.max_occupancy is None else _number(args, "max-occupancy")
        traffic = Traffic.from_counts(
            _number(args, "offered"),
            _number(args, "interval-s"),
            _number(args, "aht-s"),
            patience,
        )
        target = ServiceTarget(
            service_level=_number(args, "sl-target"),
            threshold_s=_number(args, "sl-threshold-s"),
            short_abandon_s=_number(args, "short-abandon-s"),
            max_occupancy=occupancy,
            shrinkage=_number(args, "shrinkage"),
        )
        advice = _advice(traffic, target)
    except _BadOption as exc:
        print(f"ccpipe staffing erlang: {exc}", file=sys.stderr)
        return 2
    except StaffingError as exc:
        option = OPTIONS.get(exc.field or "")
        message = f"{option}: {exc.reason}" if option else exc.reason
        print(f"ccpipe staffing erlang: {message}", file=sys.stderr)
        return 2
    if args.format == "json":
        import orjson

        sys.stdout.buffer.write(orjson.dumps(advice, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.buffer.flush()
    else:
        _write_table(advice, traffic, target)
    return 0


def _advice(traffic: Traffic, target: ServiceTarget) -> dict[str, Any]:
    """The calculator's answer as plain data: the JSON output, and what the table shows."""
    from pipeline.core.erlang import performance, required_agents

    staffing = required_agents(traffic, target)
    erlang_a = traffic.patience_s is not None
    # Erlang C has no steady state at or under the load: its rows start above it.
    lowest = 1 if erlang_a else math.floor(traffic.load) + 1
    rows = []
    first = max(lowest, staffing.agents - ROWS_AROUND)
    for agents in range(first, staffing.agents + ROWS_AROUND + 1):
        p = performance(traffic, agents, target.threshold_s, target.short_abandon_s)
        row: dict[str, Any] = {
            "agents": p.agents,
            "p_wait": p.p_wait,
            "service_level": p.service_level,
            "asa_s": p.asa_s,
            "occupancy": p.occupancy,
        }
        if erlang_a:
            row |= {
                "p_abandon": p.p_abandon,
                "abandon_rate": p.abandon_rate,
                "mean_wait_s": p.mean_wait_s,
            }
        rows.append(row)
    return {
        "model": "erlang_a" if erlang_a else "erlang_c",
        "load_erlangs": traffic.load,
        "required_agents": staffing.scheduled,
        "required_on_floor": staffing.agents,
        "limited_by": staffing.limited_by,
        "rows": rows,
    }


def _write_table(advice: dict[str, Any], traffic: Traffic, target: ServiceTarget) -> None:
    from pipeline.output_format import REPORT_TABLE, write_rows

    out = sys.stdout
    model = "Erlang A" if advice["model"] == "erlang_a" else "Erlang C"
    patience = "" if traffic.patience_s is None else f", patience {traffic.patience_s:g} s"
    out.write(
        f"{model}: {traffic.rate_per_s * 3600:,.1f} contacts an hour, AHT {traffic.aht_s:g} s"
        f"{patience}: {traffic.load:,.2f} Erlangs\n"
    )
    on_floor = advice["required_on_floor"]
    goal = f"{_percent(target.service_level)} answered within {target.threshold_s:g} s"
    if target.max_occupancy is not None:
        goal += f", occupancy at most {_percent(target.max_occupancy)}"
    out.write(f"required: {on_floor} agents on the floor for {goal}")
    if advice["limited_by"] == "occupancy":
        out.write(" (set by the occupancy cap)")
    if target.shrinkage:
        out.write(
            f"; {advice['required_agents']} to schedule with {_percent(target.shrinkage)} shrinkage"
        )
    out.write("\n\n")
    columns = [*advice["rows"][0], "note"]
    rows = [
        [*row.values(), "required" if row["agents"] == on_floor else ""] for row in advice["rows"]
    ]
    out.flush()
    write_rows("table", columns, rows, sys.stdout.buffer, REPORT_TABLE)


def _percent(share: float) -> str:
    return f"{share * 100:.4g} %"
