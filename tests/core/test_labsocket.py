"""The lab socket's vocabulary: every frame parsed once, field by field, with reasons."""

import json
from typing import Literal, NotRequired, TypedDict

import pytest

from archviz.core import labsocket
from archviz.core.frames import InvalidFrame, check_fields
from archviz.core.labsocket import MAX_FRAME_BYTES, parse_request

# One valid message of every type the apps register (a new type needs one here).
VALID = {
    "ping": {"type": "ping", "node": "node-1"},
    "control": {"type": "control", "action": "kill", "node": "node-1"},
    "node.config": {"type": "node.config", "node": "node-1", "settings": {"capacity": 3}},
    "node.add": {"type": "node.add"},
    "node.remove": {"type": "node.remove", "node": "node-4"},
    "lb.algorithm": {"type": "lb.algorithm", "algorithm": "round_robin"},
    "traffic": {"type": "traffic", "rate": 12.5, "work_ms": 5, "variance_ms": 0, "ws_clients": 2},
    "session.mode": {"type": "session.mode", "mode": "redis"},
    "chat.mode": {"type": "chat.mode", "mode": "local"},
    "chat.bots": {"type": "chat.bots", "room": "lobby", "count": 3},
    "queue.control": {"type": "queue.control", "action": "stop"},
    "queue.enqueue": {"type": "queue.enqueue", "count": 20},
    "queue.add": {"type": "queue.add"},
    "queue.remove": {"type": "queue.remove", "consumer": "consumer-3"},
    "gateway.bots": {"type": "gateway.bots", "count": 4},
    "gateway.kill": {"type": "gateway.kill", "node": "gateway-1"},
    "gateway.limit": {"type": "gateway.limit", "policy": "bid", "rate": 0.5, "burst": 2},
    "gateway.compare": {"type": "gateway.compare", "for_class": True},
    "overload.clients": {"type": "overload.clients", "count": 600, "target": "node-2"},
    "overload.hog": {"type": "overload.hog", "node": "node-1", "seconds": 10},
    "overload.balloon": {"type": "overload.balloon", "node": "node-1", "mb": 256, "seconds": 20},
    "overload.shed": {"type": "overload.shed", "node": "node-2", "percent": 30},
    "overload.double": {"type": "overload.double", "limiter": "off"},
    "overload.restore": {"type": "overload.restore"},
    "overload.reconnect": {"type": "overload.reconnect", "policy": "full_jitter"},
    "overload.shed_policy": {"type": "overload.shed_policy", "policy": "newest"},
    "class.goto": {"type": "class.goto", "path": "/lb/", "lesson": "load-balancer", "step": 1},
    "class.highlight": {"type": "class.highlight", "element": "lb-clients"},
    "class.pause": {"type": "class.pause", "paused": True},
    "class.poll": {"type": "class.poll", "lesson": "load-balancer", "step": 0},
    "class.reveal": {"type": "class.reveal"},
    "class.roster": {"type": "class.roster"},
    "class.state": {"type": "class.state"},
    "class.heartbeat": {"type": "class.heartbeat", "member": "a-token", "mode": "follow"},
    "class.answer": {"type": "class.answer", "member": "a-token", "choice": 1},
    "replay": {"type": "replay", "start": 1_765_000_000_000, "speed": 2.0, "everyone": True},
    "replay.stop": {"type": "replay.stop", "everyone": False},
}


class Sample(TypedDict):
    """A request of every kind of field check_fields knows."""

    type: Literal["sample"]
    level: Literal["low", "high"]
    count: int
    ratio: float
    on: bool
    label: str | None
    tags: NotRequired[list]


SAMPLE = {"type": "sample", "level": "low", "count": 1, "ratio": 0.5, "on": True, "label": None}


def _refusal(message: object) -> InvalidFrame:
    with pytest.raises(InvalidFrame) as refused:
        parse_request(json.dumps(message))
    return refused.value


def test_every_registered_type_has_an_example_here() -> None:
    """The apps' registered request types are exactly those this module tests."""
    assert set(labsocket.request_types()) == set(VALID)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_registered_type_parses_its_valid_form(kind: str) -> None:
    """A well-formed message of each type comes back as it was sent, as text or bytes."""
    raw = json.dumps(VALID[kind])
    assert parse_request(raw) == VALID[kind]
    assert parse_request(raw.encode()) == VALID[kind]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "ping"}, "node"),
        ({"type": "control", "node": "node-1"}, "action"),
        ({"type": "node.config", "node": "node-1"}, "settings"),
        ({"type": "traffic", "rate": 1, "work_ms": 1, "variance_ms": 0}, "ws_clients"),
        ({"type": "chat.bots", "room": "lobby"}, "count"),
        ({"type": "queue.remove"}, "consumer"),
    ],
)
def test_a_missing_required_field_is_refused_by_name(message: dict, field: str) -> None:
    """Without a required field the message is refused, naming the field and the type."""
    refused = _refusal(message)
    assert str(refused) == f"{field} is missing"
    assert refused.request == message["type"]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "ping", "node": 7}, "node must be a string"),
        ({"type": "ping", "node": None}, "node must be a string"),
        ({"type": "node.config", "node": "node-1", "settings": [1]}, "settings must be an object"),
        ({"type": "queue.enqueue", "count": "x"}, "count must be a whole number"),
        ({"type": "queue.enqueue", "count": 2.5}, "count must be a whole number"),
        ({"type": "queue.enqueue", "count": True}, "count must be a whole number"),
        ({"type": "queue.enqueue", "count": 3, "kind": 1}, "kind must be a string"),
        (VALID["traffic"] | {"rate": "fast"}, "rate must be a number"),
        (VALID["traffic"] | {"rate": False}, "rate must be a number"),
        (VALID["traffic"] | {"queue": ["only"]}, "queue must be a string"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_by_name(message: dict, reason: str) -> None:
    """Wrong JSON types (true is not a number here) are refused saying what was expected."""
    refused = _refusal(message)
    assert str(refused) == reason
    assert refused.request == message["type"]


def test_a_float_field_takes_a_whole_number() -> None:
    """JSON does not tell 1 from 1.0: a rate of 3 is a number (a count of 2.5 is refused)."""
    assert parse_request(json.dumps(VALID["traffic"] | {"rate": 3}))["rate"] == 3


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        ("[1, 2]", "a message must be a JSON object"),
        ('"ping"', "a message must be a JSON object"),
        ("{}", "unknown message type None"),
        ('{"type": "explode"}', "unknown message type 'explode'"),
        ('{"type": []}', "unknown message type []"),
        ('{"type": {}}', "unknown message type {}"),
        ('{"type": 3}', "unknown message type 3"),
    ],
)
def test_frames_that_are_no_message_of_the_vocabulary_are_refused(raw, reason: str) -> None:
    """Not JSON, not an object, or no known type: refused, with no request type to name."""
    with pytest.raises(InvalidFrame) as refused:
        parse_request(raw)
    assert str(refused.value) == reason
    assert refused.value.request is None


def test_a_frame_over_64_kib_is_refused_before_it_is_parsed() -> None:
    """The limit counts bytes: 33 000 two-byte characters are over it, as text or bytes."""
    padded = json.dumps({"type": "ping", "node": "x" * MAX_FRAME_BYTES})
    wide = '{"type": "ping", "node": "' + "é" * 33_000 + '"}'
    for raw in (padded, padded.encode(), wide):
        with pytest.raises(InvalidFrame, match="message over 64 KiB"):
            parse_request(raw)
    at_limit = json.dumps({"type": "ping", "node": ""})
    at_limit = at_limit[:-2] + "x" * (MAX_FRAME_BYTES - len(at_limit)) + '"}'
    assert len(at_limit.encode()) == MAX_FRAME_BYTES
    assert parse_request(at_limit)["type"] == "ping"


def test_check_fields_accepts_each_kind_of_field() -> None:
    """Literal choices, int, float, bool, optional and not-required fields all pass."""
    for message in (SAMPLE, SAMPLE | {"level": "high", "ratio": 2, "label": "x", "tags": []}):
        assert check_fields(message, Sample) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"level": "medium"}, "level must be one of 'low', 'high'"),
        ({"level": 1}, "level must be one of 'low', 'high'"),
        ({"on": 1}, "on must be true or false"),
        ({"on": "yes"}, "on must be true or false"),
        ({"count": False}, "count must be a whole number"),
        ({"label": 5}, "label must be a string or null"),
        ({"tags": {}}, "tags must be a list"),
    ],
)
def test_check_fields_refuses_by_name_saying_what_was_expected(change: dict, reason: str) -> None:
    """A Literal mismatch lists the choices; bool and int are not each other."""
    with pytest.raises(InvalidFrame) as refused:
        check_fields(SAMPLE | change, Sample)
    assert str(refused.value) == reason
    assert refused.value.request == "sample"


def test_a_missing_not_required_field_is_fine_and_a_missing_required_one_is_not() -> None:
    """NotRequired fields may be absent; required ones, even optional-typed, may not."""
    check_fields(SAMPLE, Sample)  # no tags
    without_label = {k: v for k, v in SAMPLE.items() if k != "label"}
    with pytest.raises(InvalidFrame, match="label is missing"):
        check_fields(without_label, Sample)
