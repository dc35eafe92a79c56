"""Reading settings data into the typed tree, and errors that name the file, the key and value.

The tree (pipeline/config.py, pipeline/targets.py) is declared with msgspec structs, which
check types, ranges (`Meta`), choices (`Literal`) and unknown keys while they convert. This
module turns msgspec's errors into `ConfigError`s that read like

    ccpipe.yaml: key `queues.billing.sl_threshold_s.chat`: expected a number of seconds >= 0, got -5

and reads the one value msgspec does not know, a `Duration` such as `10m`.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting that cannot be used, naming where it came from."""


@dataclass(frozen=True, slots=True)
class KeyPath:
    """A key's place in a settings source, for messages: "file: key `a.b.c`"."""

    source: str
    keys: tuple[str, ...] = ()

    def __truediv__(self, key: object) -> KeyPath:
        return KeyPath(self.source, (*self.keys, str(key)))

    def __str__(self) -> str:
        return f"{self.source}: key `{'.'.join(self.keys)}`" if self.keys else self.source


# Value types the settings and the targets share.
AtLeastOne = Annotated[int, msgspec.Meta(ge=1)]
Day = Annotated[date, msgspec.Meta(description="expected a date such as 2026-06-30")]


def versions_of(value: T | list[T]) -> list[T]:
    """A setting written as one version or as a list of versions (oldest first), as a list."""
    return value if isinstance(value, list) else [value]


class Duration(int):
    """Seconds, written `90`, `90s`, `10m`, `1h` or `1d` (Prometheus's spelling)."""


_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> Duration:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Duration(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) <= 0:
        raise ValueError("expected a duration such as 90s, 10m or 1h")
    return Duration(int(match[1]) * _UNIT_S[match[2]])


def _dec_hook(kind: type, value: object) -> object:
    if kind is Duration:
        return parse_duration(value)
    raise NotImplementedError


def convert(data: object, into: type[T], where: KeyPath, *, strict: bool = True) -> T:
    """`data` as `into`, or a ConfigError naming the key under `where` and its value.

    `strict=False` reads strings as numbers and booleans (`CCPIPE_*` variables, flags)."""
    try:
        return msgspec.convert(data, into, strict=strict, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(data, into, str(exc), where, strict)) from None


# --- errors ----------------------------------------------------------------------------------
# msgspec says "Expected `float` <= 1.0 - at `$.targets.queues[...].service_level`": the path
# hides dictionary keys and the message the value. Both are found again by walking the data
# along the path, beside the type it was converted to.

_AT = re.compile(r"(?P<message>.*?)(?: - at (?P<in_key>`key` in )?`\$(?P<path>[^`]*)`)?", re.S)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_ANY_KEY = "..."
_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "float": "a number",
    "int": "a whole number",
    "str": "a string",
    "bool": "true or false",
}


def _explain(data: Any, kind: Any, error: str, where: KeyPath, strict: bool) -> str:
    parts = _AT.fullmatch(error)
    assert parts is not None  # every string matches
    value = data
    for name, index in _SEGMENT.findall(parts["path"] or ""):
        segment = name or index
        if segment == _ANY_KEY and isinstance(value, dict):
            item_kind = _child(kind, segment)
            for key, item in value.items():
                try:
                    msgspec.convert(item, item_kind, strict=strict, dec_hook=_dec_hook)
                except msgspec.ValidationError as exc:
                    return _explain(item, item_kind, str(exc), where / key, strict)
            break
        kind, where = _child(kind, segment), where / segment
        if isinstance(value, list) and segment.isdigit():
            value = value[int(segment)]
        else:
            value = value.get(segment) if isinstance(value, dict) else None
    return _sentence(parts["message"], bool(parts["in_key"]), value, kind, where)


def _sentence(message: str, in_key: bool, value: Any, kind: Any, where: KeyPath) -> str:
    if found := re.match(r"Object contains unknown field `(.*)`", message):
        known = [f.encode_name for f in _struct_fields(kind) if not f.encode_name.startswith("$")]
        return f"{where}: unknown key `{found[1]}` (known: {', '.join(known)})"
    if found := re.match(r"Object missing required field `(.*)`", message):
        return f"{where}: missing `{found[1]}`"
    if message.startswith("Invalid enum value"):
        if in_key:
            key_kind = next(get_args(m)[0] for m in _members(kind) if get_origin(m) is dict)
            choices = _choices(key_kind)
            unknown = next((str(key) for key in value if key not in choices), "")
            return f"{where}: unknown key `{unknown}` (known: {', '.join(choices)})"
        return f"{where} must be one of {', '.join(_choices(kind))}, not {value!r}"
    expected = _description(kind) or re.sub(r"`([^`]*)`", _plain, message.split(", got ")[0])
    return f"{where}: {expected[0].lower()}{expected[1:]}, got {_show(value)}"


def _plain(match: re.Match[str]) -> str:
    return " or ".join(_WORDS.get(word, word) for word in match[1].split(" | "))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _members(kind: Any) -> Iterator[Any]:
    """The types a value of `kind` may have: Annotated unwrapped, unions spread."""
    origin = get_origin(kind)
    if origin is Annotated:
        yield from _members(get_args(kind)[0])
    elif origin in (Union, types.UnionType):
        for member in get_args(kind):
            yield from _members(member)
    else:
        yield kind


def _struct_fields(kind: Any) -> tuple[msgspec.structs.FieldInfo, ...]:
    for member in _members(kind):
        if isinstance(member, type) and issubclass(member, msgspec.Struct):
            return msgspec.structs.fields(member)
    return ()


def _child(kind: Any, segment: str) -> Any:
    for field in _struct_fields(kind):
        if field.encode_name == segment:
            return field.type
    for member in _members(kind):
        origin = get_origin(member)
        if origin is dict and segment == _ANY_KEY:
            return get_args(member)[1]
        if origin in (list, tuple) and segment.isdigit():
            return get_args(member)[0]
    return Any


def _choices(kind: Any) -> list[str]:
    return [str(v) for m in _members(kind) if get_origin(m) is Literal for v in get_args(m)]


def _description(kind: Any) -> str | None:
    """The `Meta(description=...)` of `kind`: how a good value reads, when msgspec's words
    ("Expected `float` <= 1.0") would say less than the setting's own."""
    if get_origin(kind) is Annotated:
        for meta in get_args(kind)[1:]:
            if isinstance(meta, msgspec.Meta) and meta.description:
                return meta.description
    if get_origin(kind) in (Union, types.UnionType):
        for member in get_args(kind):
            if described := _description(member):
                return described
    return None
