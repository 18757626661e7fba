"""What a node sends a held WebSocket (/ws/hold/), as the learner's tab reads it: the
node's greeting and echo, and the two overload frames of issue 12's contract, each sent just
before the node closes the socket (4013 refused at the handshake, 4014 shed).

Mirrored in static/archviz/overload/tab.js (HOLD_FRAME_TYPES)."""

from typing import Literal, NotRequired, TypedDict


class HelloFrame(TypedDict):
    type: Literal["hello"]
    node: str  # the node this socket is pinned to


class EchoFrame(TypedDict):
    type: Literal["echo"]
    node: str
    text: str


class HoldErrorFrame(TypedDict):
    type: Literal["error"]
    node: str
    reason: str


class OverloadedFrame(TypedDict):
    """Refused: the node's pressure is over its reject threshold, or it holds ws_limit."""

    type: Literal["overloaded"]
    node: str
    retry_after_ms: int
    pressure: float
    reason: NotRequired[str]  # in words: over the reject threshold, or at ws_limit


class ShedFrame(TypedDict):
    """Disconnected to relieve the node: come back after the hint."""

    type: Literal["shed"]
    node: str
    retry_after_ms: int
    pressure: float


HoldFrame = HelloFrame | EchoFrame | HoldErrorFrame | OverloadedFrame | ShedFrame
