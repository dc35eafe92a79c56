"""Simulated v1 events written out as the Asterisk `queue_log` of the same day.

The layout is app_queue's (`epoch|callid|queue|agent|event|data...`), with its whole-second
epochs and its durations computed as Asterisk does, as differences of `time(NULL)`. Only voice
contacts go in (Asterisk queues calls). Agents take their after-call work as a pause with
the reason `ACW` (the convention `acw_pause_reason` reads) and their breaks as `Break`.

`as_queue_log_sees` is the other half: the same simulated events reduced to what the
`queue_log` keeps (whole seconds, one talk time with holds inside, no survey, no resolution),
so that the two reports can be compared to the last digit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.core.clock import US_PER_S, format_utc, parse_rfc3339

Event = dict[str, Any]
ACW_REASON = "ACW"


def second(event: Event) -> int:
    """The event's time as Asterisk's `time(NULL)` would have read it."""
    return parse_rfc3339(event["ts"]) // US_PER_S


def voice_events(events: Iterable[Event]) -> Iterator[Event]:
    """Contact events of voice contacts (a transfer keeps its channel), and agent states."""
    voice: set[str] = set()
    for event in events:
        kind = event["type"]
        if kind == "agent.state":
            yield event
        elif kind == "contact.offered":
            if event["channel"] == "voice":
                voice.add(event["contact_id"])
                yield event
        elif kind != "survey.response" and event["contact_id"] in voice:
            yield event


class QueueLogWriter:
    """Turns a clean, time-ordered simulated stream into queue_log lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.callids: dict[str, str] = {}
        self.offered_at: dict[tuple[str, str], int] = {}
        self.answered_at: dict[tuple[str, str], int] = {}
        self.position: dict[tuple[str, str], int] = {}
        self.waiting: dict[str, int] = {}
        self.transfer_to: dict[tuple[str, str], str] = {}
        self.agent_queues: dict[str, list[str]] = {}
        self.agent_state: dict[str, str] = {}
        self.rang_at: dict[str, int] = {}

    def write(self, events: Iterable[Event]) -> list[str]:
        for event in voice_events(events):
            getattr(self, "_" + event["type"].replace(".", "_"))(event, second(event))
        return self.lines

    def _line(
        self, epoch: int, callid: str, queue: str, agent: str, verb: str, *data: object
    ) -> None:
        self.lines.append("|".join([str(epoch), callid, queue, agent, verb, *map(str, data)]))

    # Calls -------------------------------------------------------------------------------

    def _contact_offered(self, event: Event, epoch: int) -> None:
        contact, queue = event["contact_id"], event["queue"]
        callid = self.callids.get(contact)
        if callid is None:
            callid = self.callids[contact] = f"{epoch}.{len(self.callids) + 1}"
        position = self.waiting.get(queue, 0) + 1
        self.waiting[queue] = position
        self.offered_at[contact, queue] = epoch
        self.position[contact, queue] = position
        self._line(
            epoch, callid, queue, "NONE", "ENTERQUEUE", "", event.get("customer_id", ""), position
        )

    def _left_queue(self, queue: str) -> None:
        self.waiting[queue] -= 1

    def _contact_abandoned(self, event: Event, epoch: int) -> None:
        key = (event["contact_id"], event["queue"])
        self._left_queue(event["queue"])
        wait = epoch - self.offered_at[key]
        self._line(
            epoch, self.callids[key[0]], key[1], "NONE", "ABANDON", 1, self.position[key], wait
        )

    def _contact_answered(self, event: Event, epoch: int) -> None:
        key = (event["contact_id"], event["queue"])
        agent = event["agent_id"]
        self._left_queue(event["queue"])
        self.answered_at[key] = epoch
        ring = epoch - self.rang_at.get(agent, epoch)
        self._line(
            epoch,
            self.callids[key[0]],
            key[1],
            agent,
            "CONNECT",
            epoch - self.offered_at[key],
            f"{epoch}.{len(self.lines)}",
            ring,
        )

    def _contact_transferred(self, event: Event, epoch: int) -> None:
        self.transfer_to[event["contact_id"], event["queue"]] = event["to_queue"]

    def _contact_ended(self, event: Event, epoch: int) -> None:
        key = (event["contact_id"], event["queue"])
        agent = event["agent_id"]
        callid = self.callids[key[0]]
        hold = self.answered_at[key] - self.offered_at[key]
        talk = epoch - self.answered_at[key]
        target = self.transfer_to.pop(key, None)
        if target is not None:
            # A blind transfer to the extension that queues the call in `target`.
            self._line(
                epoch,
                callid,
                key[1],
                agent,
                "BLINDTRANSFER",
                target,
                "queues",
                hold,
                talk,
                self.position[key],
            )
        else:
            verb = "COMPLETECALLER" if len(self.lines) % 2 else "COMPLETEAGENT"
            self._line(epoch, callid, key[1], agent, verb, hold, talk, self.position[key])
        self._pause(agent, epoch, ACW_REASON)

    def _contact_wrapup_ended(self, event: Event, epoch: int) -> None:
        self._unpause(event["agent_id"], epoch)

    # Agents ------------------------------------------------------------------------------

    def _agent_state(self, event: Event, epoch: int) -> None:
        agent, state = event["agent_id"], event["state"]
        self.agent_queues[agent] = list(event.get("queues") or self.agent_queues.get(agent, []))
        before = self.agent_state.get(agent, "offline")
        self.agent_state[agent] = state
        if state == "busy":
            self.rang_at[agent] = epoch
        if before == "offline" and state != "offline":
            for queue in self.agent_queues[agent]:
                self._line(epoch, "MANAGER", queue, agent, "ADDMEMBER", "")
        if state == "offline" and before != "offline":
            for queue in self.agent_queues[agent]:
                self._line(epoch, "MANAGER", queue, agent, "REMOVEMEMBER", "")
        elif state == "away":
            self._pause(agent, epoch, "Break")
        elif before == "away":
            self._unpause(agent, epoch)

    def _pause(self, agent: str, epoch: int, reason: str) -> None:
        # What `QueuePause` without a queue logs: one line per queue, then PAUSEALL.
        for queue in self.agent_queues.get(agent, []):
            self._line(epoch, "NONE", queue, agent, "PAUSE", reason)
        self._line(epoch, "NONE", "NONE", agent, "PAUSEALL", reason)

    def _unpause(self, agent: str, epoch: int) -> None:
        for queue in self.agent_queues.get(agent, []):
            self._line(epoch, "NONE", queue, agent, "UNPAUSE", "")
        self._line(epoch, "NONE", "NONE", agent, "UNPAUSEALL", "")


def as_queue_log_sees(events: Iterable[Event]) -> list[Event]:
    """The simulated contact events reduced to what the queue_log keeps of them."""
    answered_at: dict[tuple[str, str], int] = {}
    ended_at: dict[tuple[str, str], int] = {}
    reduced: list[Event] = []
    for event in voice_events(events):
        kind = event["type"]
        if kind == "agent.state":
            continue
        epoch = second(event)
        key = (event["contact_id"], event["queue"])
        kept: Event = {
            "event_id": event["event_id"],
            "type": kind,
            "ts": format_utc(epoch * US_PER_S),
            "contact_id": event["contact_id"],
            "queue": event["queue"],
        }
        if kind == "contact.offered":
            kept["channel"] = "voice"
            kept["customer_id"] = event["customer_id"]
        elif kind == "contact.answered":
            answered_at[key] = epoch
            kept["agent_id"] = event["agent_id"]
        elif kind == "contact.transferred":
            kept["to_queue"] = event["to_queue"]
            kept["agent_id"] = event["agent_id"]
        elif kind == "contact.ended":
            ended_at[key] = epoch
            kept.update(agent_id=event["agent_id"], talk_s=epoch - answered_at[key], hold_s=0)
        elif kind == "contact.wrapup_ended":
            # No `resolved`: queue_log cannot say a contact was left unresolved.
            kept.update(agent_id=event["agent_id"], acw_s=epoch - ended_at[key])
        reduced.append(kept)
    return reduced
