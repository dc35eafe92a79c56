"""A contact centre as a discrete-event simulation, emitting v1 contract events.

`simulate_events(contacts, seed)` yields the events as dicts in delivery order;
`simulate_timed` pairs each with its simulated delivery time, for pacing; `ccpipe simulate`
writes them as JSONL. The model is in `model`, its parameters in `parameters`, and the
late and duplicated deliveries in `emit`; docs/simulator.md explains the choices.
"""

from pipeline.simulator.emit import (
    DEFAULT_START_US,
    Disorder,
    simulate_events,
    simulate_timed,
    write_jsonl,
)
from pipeline.simulator.parameters import CentreConfig

__all__ = [
    "DEFAULT_START_US",
    "CentreConfig",
    "Disorder",
    "simulate_events",
    "simulate_timed",
    "write_jsonl",
]
