"""A platform's names for channels and agent states, mapped to the contract's.

Each converter has default maps; the user adds or overrides entries (`ccpipe convert
--channel-map NAME=VALUE`, `--activity-map`; `--queue-name` gives queues their names), and
every value is checked against the contract before a record is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from pipeline.adapters.converter import AdapterError
from pipeline.core.events import AGENT_STATES, CHANNELS


def checked_map(
    defaults: Mapping[str, str],
    extra: Mapping[str, str] | None,
    allowed: tuple[str, ...],
    what: str,
) -> dict[str, str]:
    """The defaults with the user's entries on top; keys lower-cased, values one of
    `allowed` (ValueError naming the entry otherwise)."""
    merged = {key.lower(): value for key, value in defaults.items()}
    for key, value in (extra or {}).items():
        if value not in allowed:
            raise ValueError(f"{what} {key}={value}: {value!r} is not one of {allowed}")
        merged[key.lower()] = value
    return merged


def checked_channel_map(
    defaults: Mapping[str, str], extra: Mapping[str, str] | None
) -> dict[str, str]:
    """Platform channel names to v1 channels."""
    return checked_map(defaults, extra, CHANNELS, "channel map")


def checked_state_map(
    defaults: Mapping[str, str], extra: Mapping[str, str] | None
) -> dict[str, str]:
    """Agent activity/state names to v1 agent states."""
    return checked_map(defaults, extra, AGENT_STATES, "state map")


def channel_of(name: str, channel_map: Mapping[str, str], what: str) -> str:
    """A platform channel name through the converter's map (case-insensitive) to a v1 one."""
    mapped = channel_map.get(name.lower())
    if mapped is None:
        known = ", ".join(sorted(channel_map))
        raise AdapterError(
            f"{what} {name!r} has no v1 channel (known: {known}); map it with "
            f"--channel-map {name}=<{'|'.join(CHANNELS)}>"
        )
    return mapped


def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """`NAME=VALUE` command-line items to a dict (the last one of a name wins)."""
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{what}: {item!r} is not NAME=VALUE")
        pairs[name] = value
    return pairs


def queue_names_from(data: bytes, what: str) -> dict[str, str]:
    """Queue names by id from a JSON file: an object `{id: name}`, or a list of queues as a
    platform's API lists them (Genesys `{"entities": [{"id", "name"}]}`, Connect
    `QueueSummaryList` `[{"Id", "Name"}]`, or a bare list of either)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{what}: not JSON: {exc}") from None
    if isinstance(obj, dict):
        listed = obj.get("entities", obj.get("QueueSummaryList"))
        if listed is None:
            if all(isinstance(v, str) for v in obj.values()):
                return {str(key): value for key, value in obj.items()}
            raise ValueError(f"{what}: an object whose values are not all names")
        obj = listed
    if not isinstance(obj, list):
        raise ValueError(f"{what}: expected an object of names or a list of queues")
    names: dict[str, str] = {}
    for queue in obj:
        queue_id = isinstance(queue, dict) and (queue.get("id") or queue.get("Id"))
        name = isinstance(queue, dict) and (queue.get("name") or queue.get("Name"))
        if not isinstance(queue_id, str) or not isinstance(name, str):
            raise ValueError(f"{what}: a queue without a string id and name: {queue!r}")
        names[queue_id] = name
    return names
