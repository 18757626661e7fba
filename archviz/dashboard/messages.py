"""The lab socket's server -> browser frames and the live state they carry, written once.

Mirrored in static/archviz/js/lib/protocol.js. Every frame is a JSON object with a `type`.
What a browser may send, and the ack and error frames that answer it, are in
archviz/core/labsocket.py (each app registers its own requests there).
"""

from typing import Any, Literal, NotRequired, TypedDict

from archviz.gateway.messages import GatewayView
from archviz.overload.state import OverloadView
from archviz.queue.state import QueueView
from archviz.trace.events import TraceEvent

NodeStatus = Literal["starting", "up", "paused", "down", "stopped", "failed"]


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
    jitter_ms: int
    in_flight: int
    queued: int
    websockets: int
    rejected_total: int
    pressure: dict | None  # its heartbeat's pressure reading (node/runtime.py), None if none
    overload: dict  # its thresholds, policies and admission/shedding counters (node/runtime.py)
    drops: dict  # what the stack dropped without a word in it (core/drops.py), {} if unknown
    cart_reads: dict  # the sessions demo's reads with a cookie: {"found", "missing"}, {} if none


class RedisView(TypedDict):
    """What every learner may know of Redis. Never its URL: that can carry the password, and
    the address is for instructors (the lab page's config tells them)."""

    up: bool
    used_memory_bytes: int | None
    # pub/sub subscribers Redis closed for their output buffer, since the lab started it:
    # INFO stats (Redis 7+), else the embedded Redis's log; None when nothing observes them
    output_buffer_closes: int | None


class BackendView(TypedDict):
    id: str
    health: str  # "unknown" | "healthy" | "unhealthy" | "ejected"
    health_detail: str  # in words: "down: 3 failed checks in a row"
    in_flight: int
    ewma_ms: float
    requests_total: int
    errors_total: int  # failed: no connection, a timeout, a 5xx other than 503
    refused_total: int  # the node's own 503s: at capacity
    websockets: int  # WebSockets the LB holds open to this backend


class BalancerView(TypedDict):
    up: bool
    port: int | None
    algorithm: str
    requests_total: int
    no_backend_total: int  # 503s: no healthy backend
    refused_connections_total: int  # 503s: ARCHVIZ_LB_MAX_CONNECTIONS client connections open
    max_connections: int
    backends: list[BackendView]


class TrafficView(TypedDict):
    up: bool
    rate: float  # requests/s asked for (0: stopped)
    work_ms: float
    variance_ms: float
    ws_clients: int  # long-lived WebSockets asked for
    ws_open: int
    window_s: float
    sent: int  # in the last window
    ok: int
    queued: int
    rejected: int  # 503 from a node at capacity or from the LB
    failed: int  # connection errors, 504s, other 5xx
    per_node: dict[str, int]  # answered requests in the last window, by node
    latency_ms: dict[str, float]  # {"p50", "p95", "p99"} over the last window
    failures: dict[str, int]  # failed requests in the last window, by reason
    target: str  # "lb", or "nodes" while no load balancer is registered
    ws_nodes: dict[str, int]  # open WebSocket clients, by the node they are pinned to
    in_flight: int
    queue: str  # off | also | only: whether arrivals are also enqueued as queue jobs
    queue_enqueued: int  # jobs the generator has enqueued since it started
    queue_dropped: int  # arrivals it could not enqueue (Redis away)
    latency_sample: list[float]  # the window's latest latencies (ms), for a distribution


class ProcessView(TypedDict):
    """One process the supervisor runs (a node, the balancer, the traffic generator, a consumer,
    the bots, a gateway demo process …), as its record says."""

    id: str
    kind: str  # the management command that runs it
    status: str  # starting | up | paused | down | stopped | failed
    pid: int | None
    port: int | None
    restarts: int
    detail: str


class LabState(TypedDict):
    ts: float
    redis: RedisView
    supervisor_up: bool
    supervisor_pid: int | None
    dashboards: list[dict[str, Any]]
    nodes: list[NodeView]
    processes: list[ProcessView]  # every process the supervisor runs, nodes included
    lb: BalancerView | None  # None until the load balancer has registered
    traffic: TrafficView | None
    queue: QueueView | None  # None while Redis cannot be read
    gateway: GatewayView | None  # the API gateway demo; None while Redis cannot be read
    overload: OverloadView | None  # the overload demo; None while Redis cannot be read
    # who last set the shared state, and where: what -> {by, page, ts} (core/set_by.py)
    set_by: dict[str, dict]


# server -> client
class Welcome(TypedDict):
    type: Literal["welcome"]
    user: dict[str, Any]  # {"name": str | None, "instructor": bool}
    recent: list[TraceEvent]


class StateFrame(TypedDict):
    type: Literal["state"]
    state: LabState
    # Trace events this dashboard process received but could not read, since it started:
    # dropped (neither drawn nor logged), so the page says how many.
    invalid_events: int
    # on a replayed frame only: {recording, start, end, at, speed, by, everyone}
    # (archviz/recorder/replay.py); live frames have none
    replay: NotRequired[dict[str, Any]]


class TraceFrame(TypedDict):
    type: Literal["trace"]
    events: list[TraceEvent]
    replay: NotRequired[dict[str, Any]]  # on a replayed frame only, as in StateFrame


class PongFrame(TypedDict):
    type: Literal["pong"]
    trace: str
    node: str
    ms: float
    count: int


class LaggingFrame(TypedDict):
    type: Literal["lagging"]
    dropped: int  # frames this client missed because it read too slowly
