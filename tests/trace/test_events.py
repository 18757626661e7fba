"""Trace events: making them and validating them at the boundary."""

import json

import pytest

from archviz.trace.events import SCHEMA_VERSION, InvalidEvent, make_event, validate_event


def _event() -> dict:
    return dict(make_event("http.request", "client", "node-1", ms=1.23456, detail={"path": "/"}))


def test_made_event_survives_a_json_round_trip():
    """A made event, serialised and parsed, validates back to itself."""
    event = make_event("node.up", "node-1", "redis", trace="t1", ok=False, detail={"pid": 1})
    assert validate_event(json.loads(json.dumps(event))) == event
    assert event["v"] == SCHEMA_VERSION
    assert event["trace"] == "t1"
    assert event["ok"] is False


def test_made_event_rounds_ms_and_fills_defaults():
    """ms is rounded to three places; trace, demo and detail get defaults."""
    event = _event()
    assert event["ms"] == 1.235
    assert event["demo"] == "lab"
    assert len(event["trace"]) == 16
    assert make_event("node.stop", "supervisor", "node-1")["detail"] == {}


def test_make_event_rejects_unknown_kind():
    """Only kinds in the vocabulary can be made."""
    with pytest.raises(InvalidEvent, match=r"unknown kind 'node\.explode'"):
        make_event("node.explode", "a", "b")


def test_validate_rejects_unknown_kind():
    """An event with a kind outside the vocabulary is refused."""
    with pytest.raises(InvalidEvent, match="unknown kind"):
        validate_event(_event() | {"kind": "node.explode"})


@pytest.mark.parametrize(
    "field", ["id", "trace", "ts", "kind", "src", "dst", "demo", "ok", "ms", "detail"]
)
def test_validate_names_a_missing_field(field: str):
    """Dropping any required field is refused with a message naming it."""
    event = _event()
    del event[field]
    with pytest.raises(InvalidEvent, match=f"missing field '{field}'"):
        validate_event(event)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ts", True),
        ("ms", False),
        ("ts", "1700000000000"),
        ("ts", None),
        ("ok", 1),
        ("src", 5),
        ("detail", []),
        ("id", None),
    ],
)
def test_validate_names_a_field_of_the_wrong_type(field: str, value: object):
    """Booleans as numbers, strings as timestamps and similar are refused naming the field."""
    with pytest.raises(InvalidEvent, match=f"field '{field}'"):
        validate_event(_event() | {field: value})


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_validate_rejects_other_schema_versions(version: object):
    """Only schema version 1 is accepted."""
    with pytest.raises(InvalidEvent, match="schema version"):
        validate_event(_event() | {"v": version})


def test_validate_rejects_non_objects():
    """A list or string is not an event."""
    for obj in ([], "event", None):
        with pytest.raises(InvalidEvent, match="JSON object"):
            validate_event(obj)


def test_validate_drops_unknown_fields():
    """Extra fields are not passed through."""
    assert "extra" not in validate_event(_event() | {"extra": 1})


@pytest.mark.parametrize("version", [True, 1.0])
def test_validate_rejects_non_integer_version(version):
    """Only the integer 1 is schema version 1."""
    event = dict(make_event("node.up", "n", "redis")) | {"v": version}
    with pytest.raises(InvalidEvent):
        validate_event(event)
