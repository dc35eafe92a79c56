"""The contact centre as a discrete-event simulation, emitting v1 contract events.

One event calendar (a heap of (time, sequence, handler, subject)) drives everything: arrivals,
patience running out, answers, ends of talk and wrap-up, breaks, shifts and surveys. Waits,
abandons and service-level dips are not drawn: they come out of the queues, when arrivals at
the intraday peak meet the agents the planner put on shift. Each customer has a patience and
abandons when the wait exceeds it.

Routing is what an ACD does: a contact goes to the agent who has been idle longest among those
serving its queue and channel; a freed agent takes the oldest waiting contact of the highest
priority channel it serves (first come, first served within a priority).

All times are integer microseconds on a millisecond grid, so a duration in an event equals
the difference of the timestamps around it to the digit. Every handler emits at the current
time only, so the events come out in timestamp order.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heappush
from itertools import accumulate
from typing import Any

from pipeline.simulator.demand import IntradayProfile, day_targets
from pipeline.simulator.entities import (
    ABANDONED,
    ACW,
    ASSIGNED,
    AVAILABLE,
    AWAY,
    BUSY,
    OFFLINE,
    STATE_NAMES,
    WAITING,
    Agent,
    Contact,
    Key,
    Segment,
)
from pipeline.simulator.parameters import CentreConfig
from pipeline.simulator.staffing import Shift, StaffingPlan

Event = dict[str, Any]
US_PER_MS = 1000
DAY_US = 86_400_000_000

# Calendar handlers, indexes into `ContactCentre._handlers`.
DAY, ARRIVAL, REPEAT, ABANDON, ANSWER, END_TALK, END_ACW, SURVEY = range(8)
LOGIN, BREAK, BREAK_END, LOGOUT = range(8, 12)


def _ms(seconds: float) -> int:
    """A duration in seconds as microseconds on the millisecond grid."""
    return int(seconds * 1000 + 0.5) * US_PER_MS


class ContactCentre:
    """Simulate `contacts` arrivals; `events()` yields (ts_us, event) in timestamp order."""

    def __init__(
        self,
        config: CentreConfig,
        contacts: int,
        seed: int,
        start_us: int,
        tenant: str | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self.rng = random.Random(seed)
        self.start_us = start_us - start_us % US_PER_MS
        self.now = self.start_us
        self._target = contacts
        self._tenant = tenant
        self._id_prefix = f"{seed}-"
        self._contact_prefix = f"c{seed}-"
        self._profile = IntradayProfile(config.hourly_profile)
        self._open_us = self._profile.open_ms * US_PER_MS
        volume, self._day_targets = day_targets(
            contacts, config.contacts_per_day, self.rng, config.day_volume_sigma
        )
        self._population = max(1, round(volume * config.population_per_daily_contact))
        self._plan = StaffingPlan(config, self._profile, volume)

        self._keys: list[Key] = []
        self._key_of: dict[tuple[str, str], Key] = {}
        for queue in config.queues:
            for channel in config.channels:
                key = Key(len(self._keys), queue, channel, config)
                self._keys.append(key)
                self._key_of[(queue, channel)] = key
        self._waiting: list[deque[Segment]] = [deque() for _ in self._keys]
        self._idle: list[dict[int, Agent]] = [{} for _ in self._keys]
        self._n_waiting = 0

        self._agents: list[Agent] = []
        self._roster: list[list[Agent]] = []
        for group, size in zip(config.groups, self._plan.roster_sizes(), strict=True):
            keys = [self._key_of[(q, c)] for q in group.queues for c in group.channels]
            team = [Agent(len(self._agents) + i, keys, sorted(group.queues)) for i in range(size)]
            self._agents.extend(team)
            self._roster.append(team)

        self._queue_names = list(config.queues)
        self._queue_cum = list(accumulate(q.share for q in config.queues.values()))
        self._channel_names = list(config.channels)
        self._channel_cum = list(accumulate(c.share for c in config.channels.values()))
        self._transfer: dict[str, tuple[list[str], list[float]]] = {
            name: ([t for t, _ in qb.transfer_to], list(accumulate(w for _, w in qb.transfer_to)))
            for name, qb in config.queues.items()
        }

        self._heap: list[tuple[int, int, int, Any]] = []
        self._seq = 0
        self._out: list[Event] = []
        self._n_events = 0
        self._n_contacts = 0
        self._arrived = 0
        self._active = 0  # segments offered and not yet abandoned or wrapped up
        self._fresh: list[int] = []  # the day's first-time arrivals, by time
        self._replaced = bytearray()  # fresh arrivals whose place a repeat took
        self._fresh_next = 0  # the one on the calendar
        self._stamp_us = -1
        self._stamp_sec = -1
        self._stamp_prefix = ""
        self._stamp = ""
        self._handlers: tuple[Callable[[Any], None], ...] = (
            self._on_day,
            self._on_arrival,
            self._on_repeat,
            self._on_abandon,
            self._on_answer,
            self._on_end_talk,
            self._on_end_acw,
            self._on_survey,
            self._on_login,
            self._on_break,
            self._on_break_end,
            self._on_logout,
        )

    # The calendar.

    def events(self) -> Iterator[tuple[int, Event]]:
        if self._target <= 0:
            return
        heap = self._heap
        out = self._out
        handlers = self._handlers
        closed = False
        # Planning happens an hour before opening; it emits nothing.
        self._push(self.start_us - 3_600_000_000, DAY, 0)
        while heap:
            now, _, handler, subject = heappop(heap)
            self.now = now
            handlers[handler](subject)
            if out:
                for event in out:
                    yield now, event
                out.clear()
                if self._arrived >= self._target and not self._active and not closed:
                    closed = True
                    self._close()
                    for event in out:
                        yield now, event
                    out.clear()

    def _close(self) -> None:
        """The last contact is done: agents still logged in log off, and of the calendar only
        the survey responses still to come remain (a shift with nothing to do is noise)."""
        for agent in self._agents:
            if agent.state != OFFLINE:
                self._logout(agent)
        self._heap[:] = [entry for entry in self._heap if entry[2] == SURVEY]
        heapify(self._heap)

    def _push(self, at_us: int, handler: int, subject: Any) -> None:
        heappush(self._heap, (at_us, self._seq, handler, subject))
        self._seq += 1

    def _new(self, event_type: str) -> Event:
        now = self.now
        if now != self._stamp_us:
            sec, rem = divmod(now, 1_000_000)
            if sec != self._stamp_sec:
                self._stamp_sec = sec
                self._stamp_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._stamp = f"{self._stamp_prefix}.{rem // 1000:03d}Z"
            self._stamp_us = now
        # Zero-padded so that the string order of ids is their emission order.
        event: Event = {
            "event_id": f"{self._id_prefix}{self._n_events:09d}",
            "type": event_type,
            "ts": self._stamp,
        }
        self._n_events += 1
        if self._tenant is not None:
            event["tenant"] = self._tenant
        self._out.append(event)
        return event

    def _contact_event(self, event_type: str, segment: Segment) -> Event:
        event = self._new(event_type)
        event["contact_id"] = segment.contact.contact_id
        event["queue"] = segment.queue
        return event

    # Demand.

    def _on_day(self, day: int) -> None:
        opening = self.start_us + day * DAY_US
        rng = self.rng
        for shift in self._plan.day(rng):
            self._push(opening + shift.start_ms * US_PER_MS, LOGIN, (opening, shift))
        if day < len(self._day_targets) and self._day_targets[day] > 0:
            offsets = self._profile.sample_ms(rng, self._day_targets[day])
            self._fresh = [opening + ms * US_PER_MS for ms in offsets]
            self._replaced = bytearray(len(offsets))
            self._fresh_next = 0
            self._push(self._fresh[0], ARRIVAL, None)
        self._push(opening + DAY_US - 3_600_000_000, DAY, day + 1)

    def _on_arrival(self, _: None) -> None:
        fresh = self._fresh
        replaced = self._replaced
        index = self._fresh_next
        following = index + 1
        while following < len(fresh) and replaced[following]:
            following += 1
        self._fresh_next = following
        if following < len(fresh):
            self._push(fresh[following], ARRIVAL, None)
        if replaced[index] or self._arrived >= self._target:
            return
        rng = self.rng
        queue = self._queue_names[bisect_right(self._queue_cum, rng.random() * self._queue_cum[-1])]
        qb = self.config.queues[queue]
        customer = f"cust-{rng.randrange(self._population)}"
        reason = qb.reasons[int(rng.random() * len(qb.reasons))]
        self._arrive(customer, queue, self._draw_channel(), reason)

    def _on_repeat(self, plan: tuple[str, str, str, str]) -> None:
        if self._arrived < self._target:
            self._replace_fresh()
            self._arrive(*plan)

    def _replace_fresh(self) -> None:
        """A repeat takes the place of a random later first-time arrival of the day.

        The day's volume is the forecast's, repeats included, as a planner counts it; and
        the run comes to exactly `contacts` arrivals with the day's shape intact.
        """
        lo = self._fresh_next
        n = len(self._fresh)
        if lo >= n:
            return
        replaced = self._replaced
        pick = self.rng.randrange(lo, n)
        i = replaced.find(0, pick)
        if i < 0:
            i = replaced.rfind(0, lo, pick)
        if i >= 0:
            replaced[i] = 1

    def _draw_channel(self) -> str:
        x = self.rng.random() * self._channel_cum[-1]
        return self._channel_names[bisect_right(self._channel_cum, x)]

    def _arrive(self, customer: str, queue: str, channel: str, reason: str) -> None:
        contact_id = f"{self._contact_prefix}{self._n_contacts}"
        self._n_contacts += 1
        self._arrived += 1
        self._offer(Contact(contact_id, customer, channel, queue, reason), queue)

    def _repeat_later(self, contact: Contact, delay_s: float, same_channel_share: float) -> None:
        """The customer gets in touch again, in opening hours, about the same thing."""
        if self._arrived >= self._target:
            return
        rng = self.rng
        at = self.now + _ms(delay_s)
        day, time_of_day = divmod(at - self.start_us, DAY_US)
        if time_of_day >= self._open_us:
            at = self.start_us + (day + 1) * DAY_US
            at += self._profile.sample_one_ms(rng) * US_PER_MS
        same = rng.random() < same_channel_share
        channel = contact.channel if same else self._draw_channel()
        plan = (contact.customer_id, contact.first_queue, channel, contact.reason)
        self._push(at, REPEAT, plan)

    # Contacts.

    def _offer(self, contact: Contact, queue: str) -> None:
        key = self._key_of[(queue, contact.channel)]
        segment = Segment(contact, key, self.now, self._seq)
        self._active += 1
        event = self._contact_event("contact.offered", segment)
        event["channel"] = contact.channel
        event["customer_id"] = contact.customer_id
        event["reason"] = contact.reason
        idle = self._idle[key.index]
        if idle:
            agent = next(iter(idle.values()))
            self._unidle(agent)
            self._assign(agent, segment)
            return
        self._waiting[key.index].append(segment)
        self._n_waiting += 1
        cb = key.cb
        if cb.patience is None:
            return
        rng = self.rng
        if rng.random() < cb.short_patience_share:
            patience = rng.uniform(*self.config.short_patience_s)
        else:
            patience = cb.patience.draw(rng)
        self._push(self.now + _ms(patience), ABANDON, segment)

    def _on_abandon(self, segment: Segment) -> None:
        if segment.state != WAITING:
            return
        segment.state = ABANDONED
        self._n_waiting -= 1
        self._contact_event("contact.abandoned", segment)
        self._active -= 1
        cb = segment.key.cb
        if self.rng.random() < cb.retry_share:
            self._repeat_later(segment.contact, self.config.retry_delay.draw(self.rng), 1.0)

    def _assign(self, agent: Agent, segment: Segment) -> None:
        segment.state = ASSIGNED
        segment.agent = agent
        agent.segment = segment
        self._set_state(agent, BUSY)
        lo, hi = segment.key.cb.answer_delay_s
        self._push(self.now + _ms(self.rng.uniform(lo, hi)), ANSWER, segment)

    def _on_answer(self, segment: Segment) -> None:
        agent = segment.agent
        assert agent is not None
        segment.answered_us = self.now
        self._contact_event("contact.answered", segment)["agent_id"] = agent.agent_id
        rng = self.rng
        config = self.config
        key = segment.key
        if config.talk is None:
            talk = rng.lognormvariate(key.talk_mu, config.talk_sigma)
        else:
            talk = config.talk.draw(rng)
        if not segment.contact.transferred and rng.random() < key.qb.transfer_share:
            names, cum = self._transfer[key.queue]
            segment.transfer_to = names[bisect_right(cum, rng.random() * cum[-1])]
            talk *= config.transfer_talk_factor
        hold = config.hold.draw(rng) if rng.random() < key.cb.hold_share else 0.0
        segment.talk_us = _ms(talk)
        segment.hold_us = _ms(hold)
        self._push(self.now + segment.talk_us + segment.hold_us, END_TALK, segment)

    def _on_end_talk(self, segment: Segment) -> None:
        agent = segment.agent
        assert agent is not None
        rng = self.rng
        key = segment.key
        if segment.transfer_to is not None:
            event = self._contact_event("contact.transferred", segment)
            event["to_queue"] = segment.transfer_to
            event["agent_id"] = agent.agent_id
        event = self._contact_event("contact.ended", segment)
        event["agent_id"] = agent.agent_id
        event["talk_s"] = segment.talk_us / 1_000_000
        event["hold_s"] = segment.hold_us / 1_000_000
        self._set_state(agent, ACW)
        segment.acw_us = _ms(key.cb.acw.draw(rng))
        self._push(self.now + segment.acw_us, END_ACW, agent)
        if segment.transfer_to is not None:
            segment.resolved = False
            segment.contact.transferred = True
            self._offer(segment.contact, segment.transfer_to)
            return
        segment.resolved = rng.random() < key.qb.resolve_share * key.cb.resolve_factor
        if rng.random() < key.cb.survey_share:
            self._push(self.now + _ms(key.cb.survey_delay.draw(rng)), SURVEY, segment)

    def _on_end_acw(self, agent: Agent) -> None:
        segment = agent.segment
        assert segment is not None
        agent.segment = None
        rng = self.rng
        config = self.config
        event = self._contact_event("contact.wrapup_ended", segment)
        event["agent_id"] = agent.agent_id
        event["acw_s"] = segment.acw_us / 1_000_000
        event["resolved"] = segment.resolved
        if segment.transfer_to is not None:
            event["disposition"] = "transferred"
        elif segment.resolved:
            dispositions = segment.key.qb.resolved_dispositions
            event["disposition"] = dispositions[int(rng.random() * len(dispositions))]
        else:
            event["disposition"] = "follow_up" if rng.random() < 0.7 else "escalated"
        self._active -= 1
        if segment.transfer_to is None:
            share = (
                config.resolved_repeat_share if segment.resolved else config.unresolved_repeat_share
            )
            if rng.random() < share:
                if rng.random() < config.same_day_repeat_share:
                    delay = config.same_day_repeat_delay.draw(rng)
                else:
                    delay = min(config.later_repeat_delay.draw(rng), 9 * 86400.0)
                self._repeat_later(segment.contact, delay, config.repeat_same_channel_share)
        self._free(agent)

    def _on_survey(self, segment: Segment) -> None:
        # Resolution drives satisfaction most, then the wait; NPS follows CSAT with noise,
        # so a 5 is mostly a promoter and a 3 mostly a detractor.
        rng = self.rng
        config = self.config
        wait_s = (segment.answered_us - segment.offered_us) / 1_000_000
        threshold = segment.key.sl_threshold_s
        mean = 4.35 if segment.resolved else 2.8
        if wait_s > 3 * threshold:
            mean -= 0.8
        elif wait_s > threshold:
            mean -= 0.4
        csat = min(5, max(1, round(rng.gauss(mean, 0.85))))
        event = self._contact_event("survey.response", segment)
        which = rng.random()
        if which >= config.nps_only_share:
            event["csat"] = csat
        if not config.nps_only_share <= which < config.nps_only_share + config.csat_only_share:
            event["nps"] = min(10, max(0, round(rng.gauss(2.1 * csat - 0.8, 1.2))))

    # Agents.

    def _set_state(self, agent: Agent, state: int) -> None:
        agent.state = state
        event = self._new("agent.state")
        event["agent_id"] = agent.agent_id
        event["state"] = STATE_NAMES[state]
        event["queues"] = agent.queues

    def _unidle(self, agent: Agent) -> None:
        for k in agent.keys:
            del self._idle[k][agent.index]

    def _take_next(self, agent: Agent) -> bool:
        """Serve the oldest waiting contact of the most urgent channel this agent serves."""
        if not self._n_waiting:
            return False
        waiting = self._waiting
        for tier in agent.tiers:
            best: Segment | None = None
            best_line: deque[Segment] | None = None
            for k in tier:
                line = waiting[k]
                while line and line[0].state != WAITING:
                    line.popleft()  # abandoned while waiting
                if line:
                    head = line[0]
                    if best is None or (head.offered_us, head.seq) < (best.offered_us, best.seq):
                        best, best_line = head, line
            if best is not None and best_line is not None:
                best_line.popleft()
                self._n_waiting -= 1
                self._assign(agent, best)
                return True
        return False

    def _free(self, agent: Agent) -> None:
        """The agent has finished a contact or a break: what next."""
        now = self.now
        if now >= agent.shift_end_us:
            overtime_us = round(self.config.overtime_cap_min * 60) * 1_000_000
            if now < agent.shift_end_us + overtime_us and self._take_next(agent):
                return
            self._logout(agent)
            return
        if agent.break_due_us:
            self._go_away(agent, agent.break_due_us)
            return
        if self._take_next(agent):
            return
        self._set_state(agent, AVAILABLE)
        for k in agent.keys:
            self._idle[k][agent.index] = agent

    def _go_away(self, agent: Agent, duration_us: int) -> None:
        agent.break_due_us = 0
        self._set_state(agent, AWAY)
        self._push(self.now + duration_us, BREAK_END, agent)

    def _logout(self, agent: Agent) -> None:
        if agent.state == AVAILABLE:
            self._unidle(agent)
        agent.break_due_us = 0
        self._set_state(agent, OFFLINE)

    def _on_login(self, subject: tuple[int, Shift]) -> None:
        opening, shift = subject
        agent = self._roster[shift.group][shift.rank]
        if agent.state != OFFLINE:
            return  # still finishing yesterday's overtime: cannot happen with a night between
        agent.shift_end_us = opening + shift.end_ms * US_PER_MS
        for start_ms, minutes_ms in shift.breaks:
            self._push(opening + start_ms * US_PER_MS, BREAK, (agent, minutes_ms * US_PER_MS))
        self._push(agent.shift_end_us, LOGOUT, agent)
        self._set_state(agent, AVAILABLE)
        if self._take_next(agent):
            return
        for k in agent.keys:
            self._idle[k][agent.index] = agent

    def _on_break(self, subject: tuple[Agent, int]) -> None:
        agent, duration_us = subject
        if agent.state == OFFLINE or self.now >= agent.shift_end_us:
            return
        if agent.state == AVAILABLE:
            self._unidle(agent)
            self._go_away(agent, duration_us)
        elif agent.state in (BUSY, ACW):
            agent.break_due_us = duration_us  # taken when this contact is done

    def _on_break_end(self, agent: Agent) -> None:
        if agent.state != AWAY:
            return
        if self.now >= agent.shift_end_us:
            self._logout(agent)
            return
        self._free(agent)

    def _on_logout(self, agent: Agent) -> None:
        if agent.state == AVAILABLE:
            self._logout(agent)
        # Busy, in wrap-up or away: logs off when that is over (see `_free`).
