"""The JSON Schemas in `schemas/` against their examples, and against the decoder.

The schemas (for producers in any language) and `pipeline.core.events` (msgspec, what the
pipeline runs) are two implementations of one contract, `spec/events-and-kpis.md`. Every
example in `schemas/examples/` must get the same verdict from both: a valid one is one event
and no rejection; an invalid one is no event and one rejection naming the field that
`schemas/examples/invalid/expected.json` names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
VALID = SCHEMAS / "examples" / "valid"
INVALID = SCHEMAS / "examples" / "invalid"
BASE_ID = "https://ccpipe.dev/schemas/v1/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
TYPES = (
    "contact.offered",
    "contact.answered",
    "contact.abandoned",
    "contact.transferred",
    "contact.ended",
    "contact.wrapup_ended",
    "survey.response",
    "agent.state",
)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SCHEMA_FILES = sorted(SCHEMAS.glob("*.json"))
SCHEMA_BY_NAME: dict[str, dict[str, Any]] = {p.name: _load(p) for p in SCHEMA_FILES}
REGISTRY: Registry[Any] = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMA_BY_NAME.values()
)
VALID_FILES = sorted(VALID.glob("*.json"))
EXPECTED: dict[str, dict[str, str]] = _load(INVALID / "expected.json")
INVALID_FILES = sorted(p for p in INVALID.glob("*.json") if p.name != "expected.json")


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    if checker.conforms("2026-02-30T00:00:00Z", "date-time"):
        # jsonschema checks date-time only when rfc3339-validator is installed. Without it the
        # schema's pattern still fixes the shape, and the calendar (30 February, 29 February
        # outside leap years) is checked here the way the decoder does it.
        @checker.checks("date-time", raises=ValueError)
        def _calendar(value: object) -> bool:
            if isinstance(value, str):
                datetime.fromisoformat(value.upper())
            return True

    return checker


FORMAT_CHECKER = _format_checker()


def _validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator(
        SCHEMA_BY_NAME[schema_name], registry=REGISTRY, format_checker=FORMAT_CHECKER
    )


EVENT = _validator("event.json")
BATCH = _validator("batch.json")


def _errors(validator: Draft202012Validator, instance: object) -> list[ValidationError]:
    return list(validator.iter_errors(instance))


def _names_field(error: ValidationError, field: str) -> bool:
    """Whether a schema error is about `field`: at its path, or named by required/anyOf."""
    return (
        field in error.absolute_path
        or f"'{field}'" in error.message
        or f'"{field}"' in json.dumps(error.validator_value)
    )


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_schema_set_is_complete() -> None:
    expected = {f"{t}.json" for t in TYPES} | {"common.json", "event.json", "batch.json"}
    assert set(SCHEMA_BY_NAME) == expected
    assert SCHEMA_BY_NAME["common.json"]["$defs"]["event_type"]["enum"] == list(TYPES)
    dispatched = [
        (branch["if"]["properties"]["type"]["const"], branch["then"]["$ref"])
        for branch in SCHEMA_BY_NAME["event.json"]["allOf"]
    ]
    assert dispatched == [(t, f"{t}.json") for t in TYPES]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = SCHEMA_BY_NAME[path.name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT
    assert schema["$id"] == BASE_ID + path.name
    resolver = REGISTRY.resolver(base_uri=schema["$id"])
    for ref in _refs(schema):
        resolver.lookup(ref)  # raises when a $ref points nowhere


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_valid_example_validates(path: Path) -> None:
    event = _load(path)
    # Named "<type>.json" or "<type>-<edge>.json", so each file says what it exemplifies.
    assert path.stem.split("-")[0] == event["type"]
    assert _errors(EVENT, event) == []
    assert _errors(_validator(f"{event['type']}.json"), event) == []


def test_every_type_has_a_valid_example() -> None:
    assert {_load(p)["type"] for p in VALID_FILES} == set(TYPES)


def test_expected_index_lists_every_invalid_example() -> None:
    assert set(EXPECTED) == {p.name for p in INVALID_FILES}


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.name)
def test_invalid_example_fails_for_the_expected_rule(path: Path) -> None:
    event = _load(path)
    field, rule = EXPECTED[path.name]["field"], EXPECTED[path.name]["rule"]
    errors = _errors(EVENT, event)
    assert errors, f"{path.name} validates against event.json"
    found = [(e.validator, list(e.absolute_path), e.message) for e in errors]
    assert any(e.validator == rule and _names_field(e, field) for e in errors), found
    if event.get("type") in TYPES:
        assert _errors(_validator(f"{event['type']}.json"), event)


def test_docs_describe_every_field_and_type() -> None:
    docs = (SCHEMAS.parent / "docs" / "events.md").read_text(encoding="utf-8")
    common = SCHEMA_BY_NAME["common.json"]["$defs"]
    names = set(TYPES) | set(common["envelope"]["properties"])
    names |= set(common["channel"]["enum"])
    for name in TYPES:
        properties = SCHEMA_BY_NAME[f"{name}.json"]["properties"]
        names |= set(properties)
        names |= set(properties.get("state", {}).get("enum", []))
    assert sorted(n for n in names if f"`{n}`" not in docs) == []


def test_date_time_format_is_checked() -> None:
    # Without this the Feb-30 examples would pass on the pattern alone and prove nothing.
    assert not FORMAT_CHECKER.conforms("2026-02-30T00:00:00Z", "date-time")
    assert FORMAT_CHECKER.conforms("2028-02-29T00:00:00+02:00", "date-time")


def test_batch_schema() -> None:
    valid = [_load(p) for p in VALID_FILES]
    assert _errors(BATCH, valid) == []
    assert _errors(BATCH, []) == []
    bad = _load(INVALID / "csat-above-maximum.json")
    errors = _errors(BATCH, [*valid, bad])
    assert [list(e.absolute_path) for e in errors] == [[len(valid), "csat"]]
    assert _errors(BATCH, valid[0])  # one event is not a batch


# The decoder half. pipeline.core.events is the lead's; these tests only read it.


def _decode(data: bytes) -> tuple[list[Any], list[Any]]:
    events = pytest.importorskip("pipeline.core.events")
    decoded, rejections = events.decode_message(data)
    return list(decoded), list(rejections)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda p: p.name)
def test_decoder_accepts_valid_example(path: Path) -> None:
    events, rejections = _decode(path.read_bytes())
    assert [r.reason for r in rejections] == []
    assert len(events) == 1
    # What ccpipe itself writes must conform to the schema it publishes.
    from pipeline.core.events import encode_event

    written = json.loads(encode_event(events[0]))
    assert _errors(EVENT, written) == []
    assert written["type"] == _load(path)["type"]


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.name)
def test_decoder_rejects_invalid_example(path: Path) -> None:
    events, rejections = _decode(path.read_bytes())
    assert events == []
    assert len(rejections) == 1
    assert EXPECTED[path.name]["field"] in rejections[0].reason
    assert rejections[0].raw == path.read_bytes()


def test_decoder_judges_each_event_of_a_batch_alone() -> None:
    items = [(p, True) for p in VALID_FILES] + [(p, False) for p in INVALID_FILES]
    # Interleave so that a bad event sits between good ones.
    items.sort(key=lambda item: item[0].name)
    batch = b"[" + b",".join(p.read_bytes() for p, _ in items) + b"]"
    events, rejections = _decode(batch)
    assert len(events) == len(VALID_FILES)
    fields = [EXPECTED[p.name]["field"] for p, ok in items if not ok]
    assert len(rejections) == len(fields)
    for rejection, field in zip(rejections, fields, strict=True):
        assert field in rejection.reason


def test_integer_valued_float_is_a_known_gap() -> None:
    # JSON Schema's data model makes 4.0 an integer, so the schema cannot refuse it; the
    # decoder (msgspec, strict) refuses it. docs/events.md tells producers to send 4. If the
    # decoder ever accepts 4.0, this test should go and the docs note with it.
    event = _load(VALID / "survey.response-only-csat.json") | {"csat": 4.0}
    assert _errors(EVENT, event) == []
    events, rejections = _decode(json.dumps(event).encode())
    assert events == []
    assert ["csat" in r.reason for r in rejections] == [True]
