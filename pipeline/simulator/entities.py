"""The things the model moves around: queue lines, contacts, segments and agents.

Plain slotted classes: the model creates hundreds of thousands of them, and reads their
fields in its hottest loops.
"""

from __future__ import annotations

import math

from pipeline.core.thresholds import DEFAULT_SL_THRESHOLD_S
from pipeline.simulator.parameters import CentreConfig, ChannelBehaviour, QueueBehaviour

# Segment states.
WAITING, ASSIGNED, ABANDONED = 0, 1, 2
# Agent states (the contract's names, in the order of `STATE_NAMES`).
OFFLINE, AVAILABLE, BUSY, ACW, AWAY = 0, 1, 2, 3, 4


class Key:
    """One (queue, channel) pair: its own waiting line and its behaviour, looked up once."""

    __slots__ = ("cb", "channel", "index", "qb", "queue", "sl_threshold_s", "talk_mu")

    def __init__(self, index: int, queue: str, channel: str, config: CentreConfig) -> None:
        self.index = index
        self.queue = queue
        self.channel = channel
        self.qb: QueueBehaviour = config.queues[queue]
        self.cb: ChannelBehaviour = config.channels[channel]
        self.talk_mu = math.log(self.qb.talk_median_s * self.cb.talk_factor)
        # The contract's default: waits past it lower the survey score.
        self.sl_threshold_s = DEFAULT_SL_THRESHOLD_S[channel]


class Contact:
    __slots__ = ("channel", "contact_id", "customer_id", "first_queue", "reason", "transferred")

    def __init__(
        self, contact_id: str, customer_id: str, channel: str, queue: str, reason: str
    ) -> None:
        self.contact_id = contact_id
        self.customer_id = customer_id
        self.channel = channel
        self.first_queue = queue
        self.reason = reason
        self.transferred = False


class Segment:
    """The contact in one queue, from its offer to its wrap-up or abandon."""

    __slots__ = (
        "acw_us",
        "agent",
        "answered_us",
        "contact",
        "hold_us",
        "key",
        "offered_us",
        "queue",
        "resolved",
        "seq",
        "state",
        "talk_us",
        "transfer_to",
    )

    def __init__(self, contact: Contact, key: Key, offered_us: int, seq: int) -> None:
        self.contact = contact
        self.key = key
        self.queue = key.queue
        self.offered_us = offered_us
        self.seq = seq
        self.state = WAITING
        self.agent: Agent | None = None
        self.answered_us = 0
        self.talk_us = 0
        self.hold_us = 0
        self.acw_us = 0
        self.resolved = True
        self.transfer_to: str | None = None


class Agent:
    __slots__ = (
        "agent_id",
        "break_due_us",
        "index",
        "keys",
        "queues",
        "segment",
        "shift_end_us",
        "state",
        "tiers",
    )

    def __init__(self, index: int, keys: list[Key], queues: list[str]) -> None:
        self.index = index
        self.agent_id = f"agent-{index + 1:04d}"
        self.keys = [k.index for k in keys]
        # Keys grouped by channel priority, most urgent first.
        priorities = sorted({k.cb.priority for k in keys})
        self.tiers = [[k.index for k in keys if k.cb.priority == p] for p in priorities]
        self.queues = queues
        self.state = OFFLINE
        self.shift_end_us = 0
        self.break_due_us = 0
        self.segment: Segment | None = None


STATE_NAMES = ("offline", "available", "busy", "acw", "away")
