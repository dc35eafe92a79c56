"""Ask Kafka again while it answers with an error it calls retriable, up to a deadline.

A broker just started has no group coordinator until its offsets topic exists, a leader
moves while a broker restarts, a node is not ready yet: kafka-python raises errors whose
class says `retriable = True` for these, and the one right answer is to ask again shortly.
Any other error, and a retriable one past the deadline, is raised to the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
RETRY_DEADLINE_S = 30.0
PAUSE_S = 0.2


def retrying(
    ask: Callable[[], T],
    deadline_s: float = RETRY_DEADLINE_S,
    pause_s: float = PAUSE_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`ask()`'s answer, asked again every `pause_s` while it raises a retriable Kafka error,
    until `deadline_s` has passed; then that error."""
    from kafka.errors import KafkaError

    deadline = clock() + deadline_s
    while True:
        try:
            return ask()
        except KafkaError as exc:
            if not exc.retriable or clock() >= deadline:
                raise
        sleep(pause_s)  # the pause between two questions of a wait with a deadline
