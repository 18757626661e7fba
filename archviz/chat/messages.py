"""The chat's wire vocabulary, written once: what a chat client (a browser tab, a bot) and a
node send each other on /ws/chat/<room>/, and the events the nodes pass each other in a
room's channel-layer group.

Every frame is a JSON object with a `type`. What a client sends is parsed once, at the
consumer's edge, by `parse_client_frame`; anything else becomes an error frame and the
socket stays open. A reconnecting client resumes with `?after=<last seq>` in the socket's
URL (archviz/chat/rooms.py: parse_after), not with a frame. The browser's side is
static/archviz/js/lib/chatclient.js.
"""

import re
from typing import Literal, NotRequired, TypedDict

from archviz.core.frames import InvalidFrame, parse_frame, vocabulary

MAX_FRAME_BYTES = 16 * 1024  # of UTF-8, as the frame travelled
MAX_TEXT_BYTES = 4 * 1024
CID = re.compile(r"[\w-]{1,40}")

ChatMode = Literal["local", "redis"]


# --- client -> node -----------------------------------------------------------------


class SendFrame(TypedDict):
    """A message for the room; the node answers `sent` (or an error) with the same cid."""

    type: Literal["send"]
    text: str  # not blank, at most 4 KiB of UTF-8; HTML in it is text
    cid: NotRequired[str]  # the client's id for it (1-40 letters, digits, _ or -), else ""


class AckFrame(TypedDict):
    """How many frames the client has read: one 1,000 behind is closed as too slow (4008)."""

    type: Literal["ack"]
    received: int


class PingFrame(TypedDict):
    type: Literal["ping"]


ClientFrame = SendFrame | AckFrame | PingFrame
_CLIENT_FRAMES = vocabulary(SendFrame, AckFrame, PingFrame)


# --- node -> client -----------------------------------------------------------------


class Member(TypedDict):
    """A connection in a room, as the room's members hash keeps it."""

    user: str
    node: str
    since: float  # unix ms


class WelcomeFrame(TypedDict):
    type: Literal["welcome"]
    node: str
    room: str
    conn: str  # this connection's id, "<node>.<hex>"
    user: str
    mode: ChatMode
    seq: int  # the room's last sequence number as the client joined
    members: dict[str, Member]  # by connection id, this one included


class RoomMessage(TypedDict):
    """A chat message as the room's history keeps it and the nodes carry it."""

    room: str
    user: str
    text: str
    node: str  # the node it was sent on
    ts: float  # unix ms
    trace: str
    mode: ChatMode  # the broadcast mode it was sent in
    traced: bool  # drawn end to end (sampled)


class MessageFrame(RoomMessage):
    type: Literal["message"]
    seq: int
    history: NotRequired[bool]  # one of the recent messages a joining client is shown
    recovered: NotRequired[bool]  # taken from the history: missed live, or while away


class SentFrame(TypedDict):
    """The client's message is stored (and, in Redis mode, published) as number `seq`."""

    type: Literal["sent"]
    cid: str
    seq: int


class PresenceEvent(TypedDict):
    event: Literal["join", "leave", "offline"]
    conn: str
    room: str
    user: str
    node: str  # the node that held the connection
    ts: float  # unix ms
    detected_by: NotRequired[str]  # offline: the node whose expiry check noticed
    detect_ms: NotRequired[int]  # offline: from the connection's last heartbeat to then
    # offline: the nodes where the same user is connected again (a reconnect): only this
    # one connection timed out, the user is not gone
    back_on: NotRequired[list[str]]


class PresenceFrame(TypedDict):
    type: Literal["presence"]
    room: str
    events: list[PresenceEvent]  # other connections' joins, leaves and offlines


# "from" is a keyword: this one is spelled the functional way.
HistoryLostFrame = TypedDict(
    "HistoryLostFrame",
    {
        "type": Literal["history_lost"],
        "room": str,
        "from": int,  # the sequence numbers the client missed, first and last
        "to": int,
        "lost": int,  # how many of them the capped history no longer holds
        "error": str,
    },
)


class ModeFrame(TypedDict):
    type: Literal["mode"]
    mode: ChatMode


class ErrorFrame(TypedDict):
    type: Literal["error"]
    error: str  # in words, for the person
    cid: NotRequired[str]  # the message it refuses, when it refuses one


class PongFrame(TypedDict):
    type: Literal["pong"]
    node: str
    ts: float  # unix ms


ServerFrame = (
    WelcomeFrame
    | MessageFrame
    | SentFrame
    | PresenceFrame
    | HistoryLostFrame
    | ModeFrame
    | ErrorFrame
    | PongFrame
)


# --- node -> node, through the room's group on a channel layer --------------------------


class MessageEvent(TypedDict):
    """A room message on its way to every member: `frame` is its finished MessageFrame up
    to its number (`frame + str(seq) + "}"`), serialised once by the sender."""

    type: Literal["chat.message"]
    room: str
    node: str
    ts: float
    trace: str
    mode: ChatMode
    traced: bool
    frame: str
    seq: int


class PresenceBatch(TypedDict):
    """A room's presence events from one node, sent together every 0.5 s."""

    type: Literal["chat.presence"]
    room: str
    events: list[PresenceEvent]


# --- parsing and building -------------------------------------------------------------


def parse_client_frame(raw: str | bytes) -> ClientFrame:
    """One client frame, checked: send, ack or ping; else InvalidFrame saying why."""
    frame = parse_frame(
        raw, _CLIENT_FRAMES, max_bytes=MAX_FRAME_BYTES, noun="frame", name_types=True
    )
    if frame["type"] == "send":
        return SendFrame(type="send", text=_text(frame["text"]), cid=_cid(frame.get("cid")))
    if frame["type"] == "ack":
        if frame["received"] < 0:
            raise InvalidFrame("received must be a whole number of frames, 0 or more", "ack")
        return AckFrame(type="ack", received=frame["received"])
    return PingFrame(type="ping")


def error(reason: str, cid: str | None = None) -> ErrorFrame:
    frame = ErrorFrame(type="error", error=reason)
    if cid:
        frame["cid"] = cid
    return frame


def _text(text: str) -> str:
    if not text.strip():
        raise InvalidFrame("text must be a non-empty string", "send")
    try:
        size = len(text.encode())
    except UnicodeEncodeError:  # a lone surrogate, as JSON's "\ud800" decodes
        raise InvalidFrame("text must be valid Unicode", "send") from None
    if size > MAX_TEXT_BYTES:
        raise InvalidFrame("text over 4 KiB", "send")
    return text


def _cid(cid: str | None) -> str:
    return cid if cid is not None and CID.fullmatch(cid) else ""
