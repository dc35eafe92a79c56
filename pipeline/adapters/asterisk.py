"""Asterisk `queue_log` lines to v1 events.

A line is `epoch|callid|queue|agent|event|data1|data2|...` (the layout of app_queue's
`ast_queue_log`, read by QueueMetrics and the other Asterisk reporting tools). The call id is
the caller channel's unique id and stays the same when the call is transferred to another
queue, so it is the v1 `contact_id`; the line's epoch is the event time.

- ENTERQUEUE(url|callerid|origposition) -> `contact.offered`, on the `channel` option (voice);
  the caller id is the customer only when asked (`customer_from="callerid"`), and never
  when it is withheld (`anonymous`, `unknown`, ...).
- CONNECT(holdtime|bridgedchanneluniqueid|ringtime) -> `contact.answered` by the member.
- ABANDON, EXITWITHTIMEOUT, EXITWITHKEY, EXITEMPTY, WITHDRAW(...|waittime), SYSCOMPAT ->
  `contact.abandoned`: the caller left the queue without an agent, whichever way.
- COMPLETECALLER/COMPLETEAGENT(holdtime|calltime|origposition) -> `contact.ended` with
  talk = calltime. queue_log has no hold time: it is 0 (holds are inside calltime).
- TRANSFER/BLINDTRANSFER(extension|context|holdtime|calltime|origposition),
  ATTENDEDTRANSFER(method|data...|holdtime|calltime|origposition) -> `contact.transferred`
  (`to_queue` is the extension, or the attended transfer's data: Asterisk logs where the
  call went, not a queue) and `contact.ended` with talk = calltime.
- Agent lines (AGENTLOGIN/AGENTLOGOFF, ADDMEMBER/REMOVEMEMBER, PAUSE/UNPAUSE and their *ALL
  forms) -> `agent.state`.

queue_log has no wrap-up event. When after-call work is taken as a pause with a known reason
(`acw_pause_reason`), the pause that follows an agent's call and the unpause that ends it
give `contact.wrapup_ended` for that call; the converter remembers each agent's last call and
open pause for that (its pairing state). Without the option there is no wrap-up: AHT is talk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.adapters.converter import AdapterError, Event
from pipeline.adapters.event_factory import EventFactory
from pipeline.adapters.pairing import DEFAULT_CAPACITY, PairingState
from pipeline.adapters.record_fields import customer_or_none, text_or_none
from pipeline.adapters.times import duration_us, epoch_us, seconds
from pipeline.core.events import CHANNELS

LEFT_QUEUE = frozenset(
    {"ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "WITHDRAW", "SYSCOMPAT"}
)
COMPLETED = frozenset({"COMPLETECALLER", "COMPLETEAGENT"})
TRANSFERS = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
LOGINS = frozenset({"AGENTLOGIN", "AGENTCALLBACKLOGIN"})
LOGOFFS = frozenset({"AGENTLOGOFF", "AGENTCALLBACKLOGOFF", "REMOVEMEMBER"})
PAUSES = frozenset({"PAUSE", "PAUSEALL"})
UNPAUSES = frozenset({"UNPAUSE", "UNPAUSEALL"})
# Lines with no v1 meaning: ring attempts, configuration, informational lines.
IGNORED = frozenset(
    {
        "RINGNOANSWER",
        "RINGCANCELED",
        "CONFIGRELOAD",
        "QUEUESTART",
        "AGENTDUMP",
        "DID",
        "INFO",
        "PENALTY",
        "RINGINUSE",
        "OUTCALL",
    }
)
NO_ONE = frozenset({"", "NONE"})


@dataclass(frozen=True)
class AsteriskOptions:
    tenant: str | None = None
    channel: str = "voice"
    # none | callerid (ENTERQUEUE's caller id number)
    customer_from: str = "none"
    # The PAUSE reason that means after-call work; None: queue_log carries no wrap-up.
    acw_pause_reason: str | None = None
    capacity: int = DEFAULT_CAPACITY


class AsteriskConverter:
    source = "asterisk"
    options_type = AsteriskOptions

    def __init__(self, **options: Any) -> None:
        self.options = opts = AsteriskOptions(**options)
        if opts.channel not in CHANNELS:
            raise ValueError(f"channel {opts.channel!r}: expected one of {CHANNELS}")
        if opts.customer_from not in ("none", "callerid"):
            raise ValueError(f"customer_from {opts.customer_from!r}: expected none|callerid")
        self.factory = EventFactory(self.source, opts.tenant)
        self.pairs = PairingState(opts.capacity, "last_call", "in_acw")
        # agent -> [callid, queue] of the call the agent handled last, until wrapped up
        self.last_call = self.pairs["last_call"]
        # agent -> [callid, queue, pause start us] while in after-call work
        self.in_acw = self.pairs["in_acw"]

    def convert(self, record: bytes) -> list[Event]:
        try:
            line = record.decode().rstrip("\r\n")
        except UnicodeDecodeError:
            raise AdapterError("not UTF-8 text") from None
        parts = line.split("|")
        if len(parts) < 5:
            raise AdapterError("not a queue_log line (epoch|callid|queue|agent|event|data...)")
        epoch, callid, queue, agent, verb = parts[:5]
        data = parts[5:]
        ts = epoch_us(epoch, "epoch")
        if verb in IGNORED:
            return []
        if verb in LOGINS or verb in LOGOFFS or verb in PAUSES or verb in UNPAUSES:
            return self._agent_line(verb, ts, epoch, queue, agent, data)
        if verb == "ADDMEMBER":
            state = "away" if data[:1] == ["PAUSED"] else "available"
            return [self._agent_state(agent, queue, ts, epoch, verb, state)]
        if callid in NO_ONE or queue in NO_ONE:
            raise AdapterError(f"{verb} without a call id and queue")
        identity = (callid, queue, epoch)
        make = self.factory.make
        if verb == "ENTERQUEUE":
            customer = None
            if self.options.customer_from == "callerid":
                customer = customer_or_none(_field(data, 1))
            return [
                make(
                    "contact.offered",
                    identity,
                    ts,
                    contact_id=callid,
                    queue=queue,
                    channel=self.options.channel,
                    customer_id=customer,
                )
            ]
        if verb in LEFT_QUEUE:
            return [make("contact.abandoned", identity, ts, contact_id=callid, queue=queue)]
        member = _member(agent, verb)
        if verb == "CONNECT":
            # A new call: the last one can no longer be wrapped up by a pause.
            self.last_call.pop(member)
            return [
                make(
                    "contact.answered",
                    identity,
                    ts,
                    contact_id=callid,
                    queue=queue,
                    agent_id=member,
                )
            ]
        if verb in COMPLETED:
            talk = duration_us(_field(data, 1), f"{verb} calltime")
            return [self._ended(identity, ts, callid, queue, member, talk)]
        if verb in TRANSFERS:
            # The last three fields are holdtime|calltime|origposition in every form (an
            # attended LINK transfer logs two channel names before them).
            if len(data) < 5:
                raise AdapterError(f"{verb} has {len(data)} data fields, expected at least 5")
            talk = duration_us(data[-2], f"{verb} calltime")
            target = _field(data, 1) if verb == "ATTENDEDTRANSFER" else _field(data, 0)
            to_queue = text_or_none(target) or text_or_none(_field(data, 0))
            if to_queue is None:
                raise AdapterError(f"{verb} does not say where the call went")
            return [
                make(
                    "contact.transferred",
                    identity,
                    ts,
                    contact_id=callid,
                    queue=queue,
                    to_queue=to_queue,
                    agent_id=member,
                ),
                self._ended(identity, ts, callid, queue, member, talk),
            ]
        raise AdapterError(f"{verb!r} is not a queue_log event this converter knows")

    def _ended(
        self, identity: tuple[str, ...], ts: int, callid: str, queue: str, agent: str, talk: int
    ) -> Event:
        if self.options.acw_pause_reason is not None:
            self.last_call.put(agent, [callid, queue])
        return self.factory.make(
            "contact.ended",
            identity,
            ts,
            contact_id=callid,
            queue=queue,
            agent_id=agent,
            talk_s=seconds(talk),
            hold_s=0,
        )

    def _agent_line(
        self, verb: str, ts: int, epoch: str, queue: str, agent: str, data: list[str]
    ) -> list[Event]:
        member = _member(agent, verb)
        if verb in LOGINS:
            return [self._agent_state(member, queue, ts, epoch, verb, "available")]
        if verb in LOGOFFS:
            self.in_acw.pop(member)
            self.last_call.pop(member)
            return [self._agent_state(member, queue, ts, epoch, verb, "offline")]
        events: list[Event] = []
        if verb in PAUSES:
            reason = _field(data, 0)
            acw = self.options.acw_pause_reason is not None and (
                reason == self.options.acw_pause_reason
            )
            # An agent in several queues gets one PAUSE line per queue: the first one opens
            # the after-call work of the agent's last call, the others find it open.
            if acw and self.in_acw.get(member) is None:
                call = self.last_call.pop(member)
                if call is not None:
                    self.in_acw.put(member, [*call, ts])
            # The pause reason is why the agent is away (a break, training), as the agent
            # panel shows it.
            away_reason = None if acw else (reason or None)
            events.append(
                self._agent_state(
                    member, queue, ts, epoch, verb, "acw" if acw else "away", away_reason
                )
            )
            return events
        work = self.in_acw.pop(member)
        if work is not None:
            callid, call_queue, started = work
            if ts < started:
                raise AdapterError(f"{verb} at {epoch} is before its PAUSE")
            events.append(
                self.factory.make(
                    "contact.wrapup_ended",
                    (callid, call_queue),
                    ts,
                    contact_id=callid,
                    queue=call_queue,
                    agent_id=member,
                    acw_s=seconds(ts - started),
                )
            )
        events.append(self._agent_state(member, queue, ts, epoch, verb, "available"))
        return events

    def _agent_state(
        self,
        agent: str,
        queue: str,
        ts: int,
        epoch: str,
        verb: str,
        state: str,
        reason: str | None = None,
    ) -> Event:
        member = _member(agent, verb)
        return self.factory.make(
            "agent.state",
            (member, queue, epoch, verb),
            ts,
            agent_id=member,
            state=state,
            queues=None if queue in NO_ONE else [queue],
            reason=reason,
        )

    def state(self) -> dict[str, Any]:
        return self.pairs.state()

    def restore(self, state: Mapping[str, Any]) -> None:
        self.pairs.restore(state)

    def unresolved(self) -> list[str]:
        return [f"agent {agent} was still in after-call work" for agent in self.in_acw.items]


def _field(data: list[str], index: int) -> str:
    return data[index] if index < len(data) else ""


def _member(agent: str, verb: str) -> str:
    if agent in NO_ONE:
        raise AdapterError(f"{verb} names no queue member")
    return agent
