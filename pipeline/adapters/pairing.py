"""Pairing state: what a converter remembers of one record until the other half comes.

A `BoundedMap` forgets its oldest entries past its capacity, so a contact whose other half
never comes is not kept forever; a converter's maps are checkpointed together
(`PairingState`), as JSON, with the offsets of the records that filled them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

# How many open pairings (contacts in flight, transfers waiting for their other half) a
# converter remembers. A contact centre has far fewer contacts in flight at once; the bound
# only keeps a converter fed with a never-ending stream from growing without end.
DEFAULT_CAPACITY = 200_000


class BoundedMap:
    """An insertion-ordered dict that forgets its oldest entries past `capacity`.

    `items` is JSON-able as it stands (keys are strings, values lists or scalars).
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.items: OrderedDict[str, Any] = OrderedDict()

    def put(self, key: str, value: Any) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)

    def get(self, key: str) -> Any:
        return self.items.get(key)

    def pop(self, key: str) -> Any:
        return self.items.pop(key, None)

    def __len__(self) -> int:
        return len(self.items)

    def dump(self) -> list[list[Any]]:
        return [[key, value] for key, value in self.items.items()]

    def load(self, rows: Iterable[Iterable[Any]]) -> None:
        self.items.clear()
        for key, value in rows:
            self.put(str(key), value)


class PairingState:
    """A converter's named `BoundedMap`s, checkpointed together: what `state()` gives is
    JSON-able, and `restore()` takes it back (a map it lacks starts empty)."""

    def __init__(self, capacity: int, *names: str) -> None:
        self._maps = {name: BoundedMap(capacity) for name in names}

    def __getitem__(self, name: str) -> BoundedMap:
        return self._maps[name]

    def state(self) -> dict[str, Any]:
        return {name: bounded.dump() for name, bounded in self._maps.items()}

    def restore(self, state: Mapping[str, Any]) -> None:
        for name, bounded in self._maps.items():
            bounded.load(state.get(name, []))
