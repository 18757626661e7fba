"""The chat's frames: what a client may send, parsed once, and what anything else is told."""

import json
from typing import get_args

import pytest

from archviz.chat.messages import ClientFrame, ServerFrame, error, parse_client_frame
from archviz.core.frames import InvalidFrame, frame_type


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("{nope", "malformed JSON"),
        (b"\xff{}", "malformed JSON"),
        ("[1]", "a frame must be a JSON object"),
        (json.dumps({"type": "dance"}), "unknown frame type 'dance'; use send, ack or ping"),
        (json.dumps({"type": "send"}), "text is missing"),
        (json.dumps({"type": "send", "text": 7}), "text must be a string"),
        (json.dumps({"type": "send", "text": " "}), "text must be a non-empty string"),
        (json.dumps({"type": "send", "text": "é" * 2100}), "text over 4 KiB"),
        (json.dumps({"type": "send", "text": "hi", "cid": 7}), "cid must be a string"),
        (json.dumps({"type": "ack"}), "received is missing"),
        (json.dumps({"type": "ack", "received": -1}), "a whole number of frames, 0 or more"),
        (json.dumps({"type": "ack", "received": True}), "received must be a whole number"),
        ("x" * 20_000, "frame over 16 KiB"),
    ],
)
def test_bad_client_frames_say_what_is_wrong(raw: str | bytes, problem: str) -> None:
    """Each kind of bad frame raises InvalidFrame naming the problem."""
    with pytest.raises(InvalidFrame, match=problem):
        parse_client_frame(raw)


def test_frame_size_is_counted_in_bytes_of_utf8() -> None:
    """9,000 é are under 16 K characters but 18,000 bytes: the frame is too big."""
    raw = json.dumps({"type": "send", "text": "é" * 9_000}, ensure_ascii=False)
    assert len(raw) < 16 * 1024 < len(raw.encode())
    with pytest.raises(InvalidFrame, match="frame over 16 KiB"):
        parse_client_frame(raw)


def test_text_with_a_lone_surrogate_is_refused_not_a_crash() -> None:
    """JSON's "\\ud800" decodes to a string no UTF-8 can hold: an error, not an exception."""
    with pytest.raises(InvalidFrame, match="text must be valid Unicode"):
        parse_client_frame('{"type": "send", "text": "\\ud800"}')


def test_send_frame_keeps_text_and_a_safe_client_id() -> None:
    """A send frame keeps its text as is (HTML too) and drops an odd or missing client id."""
    frame = parse_client_frame(json.dumps({"type": "send", "text": "<b>hi</b>", "cid": "x y"}))
    assert frame == {"type": "send", "text": "<b>hi</b>", "cid": ""}
    assert parse_client_frame(b'{"type": "send", "text": "hi", "cid": "a-1"}')["cid"] == "a-1"
    assert parse_client_frame('{"type": "send", "text": "hi"}')["cid"] == ""


def test_ack_and_ping_keep_only_their_fields() -> None:
    """Extra fields are dropped: the consumer sees exactly the vocabulary."""
    assert parse_client_frame('{"type": "ack", "received": 3, "x": 1}') == {
        "type": "ack",
        "received": 3,
    }
    assert parse_client_frame('{"type": "ping", "x": 1}') == {"type": "ping"}


def test_error_frames_name_the_refused_message_only_when_there_is_one() -> None:
    """An error carries the client's id for the message it refuses, else none."""
    assert error("no") == {"type": "error", "error": "no"}
    assert error("not sent", "c1") == {"type": "error", "error": "not sent", "cid": "c1"}


def test_the_vocabulary_names_each_frame_type_once() -> None:
    """send, ack and ping in; welcome, message, sent, presence, history_lost, mode, error,
    pong out."""
    assert [frame_type(f) for f in get_args(ClientFrame)] == ["send", "ack", "ping"]
    assert [frame_type(f) for f in get_args(ServerFrame)] == [
        "welcome",
        "message",
        "sent",
        "presence",
        "history_lost",
        "mode",
        "error",
        "pong",
    ]
