"""`ccpipe convert`: a platform's own records in, v1 JSONL out.

One record per line (a JSON object, a TaskRouter callback body, a queue_log line). What a
record means goes out as v1 events, one JSON object per line, so the output pipes into
`ccpipe kpis`, `ccpipe produce` and `ccpipe load`. A record that cannot be mapped goes to the
dead-letter file with its line number and reason, is reported on stderr, and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

SHOWN_ERRORS = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pipeline.adapters import FORMATS

    parser = sub.add_parser(
        "convert",
        help="convert a platform's events (Amazon Connect, Twilio TaskRouter, Asterisk, "
        "Genesys Cloud) to v1",
        description=(
            "Convert records in a contact-centre platform's own format to v1 events (JSONL), "
            "one record per input line. The mapping of each format, and what each option "
            "means for it, is in docs/adapters.md. Event ids are derived from the records, "
            "so converting the same input twice gives the same ids."
        ),
    )
    parser.add_argument(
        "input", nargs="?", default="-", metavar="FILE", help="input file, or - for stdin"
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        choices=FORMATS,
        help=(
            "input format: connect-events (EventBridge contact events), connect-ctr (contact "
            "records from Kinesis), taskrouter (event callbacks or Event Streams), asterisk "
            "(queue_log lines), genesys (analytics conversation detail records)"
        ),
    )
    parser.add_argument("--output", "-o", default="-", help="v1 JSONL output file (default -)")
    parser.add_argument(
        "--dlq",
        metavar="FILE",
        help="write records that cannot be mapped here, one JSON object per line "
        "({line, reason, raw}); the first few are also reported on stderr",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="pairing state (transfers, calls awaiting wrap-up) to start from if the file "
        "exists, and to save at the end: for inputs split across files",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no summary and no per-record reasons on stderr (the --dlq file still has them)",
    )
    add_converter_options(parser)
    parser.set_defaults(func=run)


def add_converter_options(parser: argparse.ArgumentParser) -> None:
    """The converters' options (`converter_options` reads them back); `ccpipe ingest` too."""
    parser.add_argument("--tenant", help="tenant of every event (default: the contract's)")
    parser.add_argument(
        "--customer-from",
        metavar="SPEC",
        help="where the customer id comes from: none (default); endpoint (connect: "
        "CustomerEndpoint.Address); callerid (asterisk: the ENTERQUEUE caller id); ani "
        "(genesys: the customer session's ani); "
        "attribute:NAME (connect: a contact attribute; taskrouter: a task attribute, dotted "
        "path)",
    )
    platform = parser.add_argument_group("platform options")
    platform.add_argument(
        "--channel-map",
        metavar="NAME=CHANNEL",
        action="append",
        help="map a platform channel to a v1 channel (connect: VOICE, CHAT, EMAIL, TASK; "
        "taskrouter: the task channel's unique name or Flex's channelType attribute; genesys: "
        "a mediaType or messageType), e.g. TASK=email, whatsapp=sms; repeatable",
    )
    platform.add_argument(
        "--queue-name",
        metavar="ID=NAME",
        action="append",
        help="name of a queue given by id (connect: the id in the queue ARN; taskrouter: "
        "the TaskQueueSid; genesys: the queueId); repeatable",
    )
    platform.add_argument(
        "--queue-names",
        metavar="FILE",
        help="queue names by id from a JSON file: an object {id: name}, or a list of queues "
        'as the platforms\' APIs list them ({"entities": [{"id", "name"}]} from Genesys '
        'GET /api/v2/routing/queues; [{"Id", "Name"}] from Connect ListQueues\' '
        "QueueSummaryList); --queue-name entries win",
    )
    platform.add_argument(
        "--agent-from",
        help="agent id: username|id (connect-ctr, default username), sid|name "
        "(taskrouter, default sid)",
    )
    platform.add_argument(
        "--contact-from",
        metavar="SPEC",
        help="taskrouter: task (the TaskSid, default) or attribute:NAME, a task attribute "
        "that names the contact across tasks, so a transfer task continues the contact",
    )
    platform.add_argument(
        "--activity-map",
        metavar="NAME=STATE",
        action="append",
        help="taskrouter: map a worker activity to an agent state (available, busy, acw, "
        "away, offline); Flex's Available, Unavailable, Break and Offline are mapped "
        "already; repeatable",
    )
    platform.add_argument(
        "--channel", help="asterisk: the v1 channel of every queue_log call (default voice)"
    )
    platform.add_argument(
        "--acw-pause-reason",
        metavar="REASON",
        help="asterisk: the PAUSE reason agents use for after-call work; the pause after a "
        "call then gives its wrap-up time (default: no wrap-up, queue_log has none)",
    )


def converter_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options the user gave, under the converters' names (unset ones left out)."""
    from pipeline.adapters.name_maps import parse_pairs

    options: dict[str, Any] = {}
    for name in ("tenant", "customer_from", "agent_from", "contact_from", "channel"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.acw_pause_reason is not None:
        options["acw_pause_reason"] = args.acw_pause_reason
    pairs = {
        "channel_map": ("channel_map", "--channel-map"),
        "queue_name": ("queue_names", "--queue-name"),
        "activity_map": ("activity_map", "--activity-map"),
    }
    for attr, (option, flag) in pairs.items():
        items = getattr(args, attr)
        if items:
            options[option] = parse_pairs(items, flag)
    if args.queue_names is not None:
        from pipeline.adapters.name_maps import queue_names_from

        with open(args.queue_names, "rb") as file:
            named = queue_names_from(file.read(), args.queue_names)
        options["queue_names"] = {**named, **options.get("queue_names", {})}
    return options


def run(args: argparse.Namespace) -> int:
    from pipeline.adapters import converter_for

    try:
        converter = converter_for(args.source, **converter_options(args))
    except ValueError as exc:
        print(f"ccpipe convert: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ccpipe convert: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    state_path = Path(args.state) if args.state else None
    if state_path is not None and state_path.exists():
        converter.restore(json.loads(state_path.read_text()))
    try:
        with ExitStack() as stack:
            records: IO[bytes] = (
                sys.stdin.buffer
                if args.input == "-"
                else stack.enter_context(open(args.input, "rb"))
            )
            out = _open_out(stack, args.output)
            dlq = stack.enter_context(open(args.dlq, "wb")) if args.dlq else None
            summary = convert_lines(converter, records, out, dlq, sys.stderr, args.quiet)
            if state_path is None:
                # No later file will close them: say so, in the summary and the dead letters.
                notes = converter.unresolved() + converter.open_segments()
                note_unresolved(notes, summary, dlq, sys.stderr, args.quiet)
    except FileNotFoundError as exc:
        print(f"ccpipe convert: no such file: {exc.filename}", file=sys.stderr)
        return 2
    if state_path is not None:
        # The next file goes on from here: what is still waiting is not lost, only pending.
        state_path.write_text(json.dumps(converter.state()))
    if not args.quiet:
        print(f"convert: {summary}", file=sys.stderr)
    return 0


class Summary:
    def __init__(self) -> None:
        self.records = 0
        self.events = 0
        self.empty = 0
        self.dead = 0
        self.unresolved = 0

    def __str__(self) -> str:
        text = (
            f"{self.records:,} records, {self.events:,} events, {self.empty:,} records with "
            f"no v1 meaning, {self.dead:,} dead-lettered"
        )
        if self.unresolved:
            text += f", {self.unresolved:,} left open (unresolved at the end)"
        return text


def note_unresolved(
    notes: list[str], summary: Summary, dlq: IO[bytes] | None, errors: IO[str], quiet: bool
) -> None:
    """What the converter could not close by the end of the input: counted, listed on
    stderr (the first few) and written to the dead letters (`line` null, no `raw`)."""
    import orjson

    summary.unresolved = len(notes)
    if not quiet:
        for note in notes[:SHOWN_ERRORS]:
            print(f"convert: unresolved at the end: {note}", file=errors)
        if len(notes) > SHOWN_ERRORS:
            print(f"convert: ... {len(notes):,} unresolved in all", file=errors)
    if dlq is not None:
        for note in notes:
            reason = f"unresolved at the end: {note}"
            dlq.write(orjson.dumps({"line": None, "reason": reason, "raw": ""}) + b"\n")


def convert_lines(
    converter: Any,
    records: Iterable[bytes],
    out: IO[bytes],
    dlq: IO[bytes] | None,
    errors: IO[str],
    quiet: bool = False,
) -> Summary:
    """Convert each line; write the events, dead-letter what cannot be mapped."""
    import orjson

    from pipeline.adapters import AdapterError
    from pipeline.ingest.records import checked_events

    summary = Summary()

    def dead(number: int, reason: str, raw: bytes) -> None:
        summary.dead += 1
        if not quiet and summary.dead <= SHOWN_ERRORS:
            print(f"convert: line {number}: {reason}", file=errors)
        if dlq is not None:
            text = raw.decode(errors="backslashreplace")
            dlq.write(orjson.dumps({"line": number, "reason": reason, "raw": text}) + b"\n")

    for number, line in enumerate(records, 1):
        record = line.rstrip(b"\r\n")
        if not record.strip():
            continue
        summary.records += 1
        try:
            # A converter must only write contract events; one that does not is a bug to
            # see, not to pass on: checked_events refuses it with its reason.
            events, reasons = checked_events(converter, record)
        except AdapterError as exc:
            dead(number, exc.reason, record)
            continue
        if not events and not reasons:
            summary.empty += 1
        for reason in reasons:
            dead(number, reason, record)
        for _, encoded in events:
            out.write(encoded + b"\n")
            summary.events += 1
    return summary


def _open_out(stack: ExitStack, path: str) -> IO[bytes]:
    if path == "-":
        stack.callback(sys.stdout.buffer.flush)
        return sys.stdout.buffer
    return stack.enter_context(open(path, "wb"))
