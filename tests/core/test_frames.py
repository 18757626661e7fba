"""Frames checked against TypedDicts: the one checker the lab socket and the chat share."""

import json
from typing import Literal, NotRequired, TypedDict

import pytest

from archviz.core import labsocket
from archviz.core.frames import InvalidFrame, frame_type, parse_frame, vocabulary


class Poke(TypedDict):
    type: Literal["poke"]
    count: int
    note: NotRequired[str | None]


class Wave(TypedDict):
    type: Literal["wave"]
    hand: Literal["left", "right"]
    speed: float


VOCABULARY = vocabulary(Poke, Wave)


def parse(frame: object, **options) -> dict:
    raw = frame if isinstance(frame, str | bytes) else json.dumps(frame)
    return parse_frame(raw, VOCABULARY, max_bytes=1024, **options)


def test_a_schema_stands_for_the_value_of_its_type_literal() -> None:
    """frame_type reads the Literal; vocabulary keys the schemas by it."""
    assert frame_type(Poke) == "poke"
    assert list(VOCABULARY.items()) == [("poke", Poke), ("wave", Wave)]


def test_good_frames_come_back_as_they_were_sent() -> None:
    """Fields of the right types pass; JSON's 1 counts as a float, an optional may be absent."""
    assert parse({"type": "poke", "count": 2}) == {"type": "poke", "count": 2}
    assert parse({"type": "wave", "hand": "left", "speed": 1})["speed"] == 1
    assert parse(b'{"type": "poke", "count": 0, "note": null}')["note"] is None


@pytest.mark.parametrize(
    "frame, reason, kind",
    [
        ("{nope", "malformed JSON", None),
        (b"\xff\xfe{}", "malformed JSON", None),
        ("[1]", "a message must be a JSON object", None),
        ({"type": "dance"}, "unknown message type 'dance'", None),
        ({"count": 1}, "unknown message type None", None),
        ({"type": "poke"}, "count is missing", "poke"),
        ({"type": "poke", "count": True}, "count must be a whole number", "poke"),
        ({"type": "poke", "count": 1.5}, "count must be a whole number", "poke"),
        ({"type": "poke", "count": 1, "note": 3}, "note must be a string or null", "poke"),
        ({"type": "wave", "hand": "up", "speed": 1}, "hand must be one of 'left', 'right'", "wave"),
        ({"type": "wave", "hand": "left", "speed": "1"}, "speed must be a number", "wave"),
    ],
)
def test_bad_frames_say_what_is_wrong(frame, reason: str, kind: str | None) -> None:
    """Each kind of bad frame raises InvalidFrame naming the problem, and its type if known."""
    with pytest.raises(InvalidFrame) as raised:
        parse(frame)
    assert str(raised.value) == reason and raised.value.request == kind


def test_size_is_counted_in_bytes_not_characters() -> None:
    """512 two-byte characters are 1,024 characters' worth of UTF-8 plus the JSON: too big."""
    raw = json.dumps({"type": "poke", "count": 1, "note": "é" * 500}, ensure_ascii=False)
    assert len(raw) < 1024 < len(raw.encode())
    with pytest.raises(InvalidFrame, match="message over 1 KiB"):
        parse(raw)


def test_a_vocabulary_may_name_its_types_and_its_frames() -> None:
    """The chat's errors say "frame" and list the types a short vocabulary knows."""
    with pytest.raises(InvalidFrame) as raised:
        parse({"type": "x"}, noun="frame", name_types=True)
    assert str(raised.value) == "unknown frame type 'x'; use poke or wave"
    with pytest.raises(InvalidFrame) as raised:
        parse("7", noun="frame")
    assert str(raised.value) == "a frame must be a JSON object"


def test_lab_socket_requests_are_parsed_by_the_shared_checker() -> None:
    """The lab socket's ping is checked field by field, and its frames are capped at 64 KiB."""
    assert labsocket.parse_request('{"type": "ping", "node": "node-1"}')["node"] == "node-1"
    with pytest.raises(InvalidFrame, match="node must be a string") as raised:
        labsocket.parse_request('{"type": "ping", "node": 1}')
    assert raised.value.request == "ping"
    with pytest.raises(InvalidFrame, match="message over 64 KiB"):
        labsocket.parse_request(json.dumps({"type": "ping", "node": "é" * 40_000}))
