"""The dashboard WebSocket's wire vocabulary, written down once.

Mirrored in static/archviz/js/lib/protocol.js. Every frame is a JSON object with a
`type`; the client sends `ping` and `control`, the server answers with the rest.
"""

from typing import Any, Literal, TypedDict

from archviz.trace.events import TraceEvent

MAX_FRAME_BYTES = 64 * 1024

NodeStatus = Literal["starting", "up", "down", "stopped", "failed"]
ControlAction = Literal["kill", "stop", "restart"]
CONTROL_ACTIONS: tuple[str, ...] = ("kill", "stop", "restart")


class NodeView(TypedDict):
    id: str
    name: str
    pid: int | None
    port: int | None
    status: NodeStatus
    detail: str  # in words: "restarting in 1.0 s", "gave up after 5 crashes", ""
    connections: int
    rps: float
    rss_bytes: int
    started_at: float | None  # unix ms
    restarts: int
    heartbeat_ts: float | None  # unix ms of the last heartbeat
    weight: int
    capacity: int
    latency_ms: int


class RedisView(TypedDict):
    url: str
    up: bool
    used_memory_bytes: int | None


class LabState(TypedDict):
    ts: float
    redis: RedisView
    supervisor_up: bool
    supervisor_pid: int | None
    dashboards: list[dict[str, Any]]
    nodes: list[NodeView]


# server -> client
class Welcome(TypedDict):
    type: Literal["welcome"]
    user: dict[str, Any]  # {"name": str | None, "instructor": bool}
    recent: list[TraceEvent]


class StateFrame(TypedDict):
    type: Literal["state"]
    state: LabState


class TraceFrame(TypedDict):
    type: Literal["trace"]
    events: list[TraceEvent]


class PongFrame(TypedDict):
    type: Literal["pong"]
    trace: str
    node: str
    ms: float
    count: int


class AckFrame(TypedDict):
    type: Literal["ack"]
    action: str
    node: str


class ErrorFrame(TypedDict, total=False):
    type: Literal["error"]
    reason: str
    request: str  # the type of the client message it answers, when there was one
    node: str  # the node that message was about, when there was one


class LaggingFrame(TypedDict):
    type: Literal["lagging"]
    dropped: int  # frames this client missed because it read too slowly


# client -> server
class PingRequest(TypedDict):
    type: Literal["ping"]
    node: str


class ControlRequest(TypedDict):
    type: Literal["control"]
    action: ControlAction
    node: str


def error(reason: str, *, request: str | None = None, node: object = None) -> ErrorFrame:
    frame = ErrorFrame(type="error", reason=reason)
    if request is not None:
        frame["request"] = request
    if isinstance(node, str):
        frame["node"] = node
    return frame
