"""The trace-event schema, defined once (mirrored in static/archviz/js/lib/protocol.js).

Every event is made by `make_event`, which bounds its free text, so that no input (a
learner's 8 KiB request path, a long error) makes a large event: each event is published to
every page and kept in the replay log. A string field (`trace`, `src`, `dst`, `demo`) longer
than MAX_NAME_CHARS, or a string in `detail` (at any depth) longer than MAX_TEXT_CHARS, is cut
to that many characters, ending in CUT_MARK; a list or object in `detail` keeps its first
MAX_DETAIL_ITEMS entries. The event then says so: `detail["cut"]` lists the fields that were
cut (a top-level name of `detail`, or the field's own name), e.g. `"cut": ["path"]`.
"""

import os
import re
import time
from typing import Any, Literal, TypedDict

SCHEMA_VERSION = 1
MAX_NAME_CHARS = 64  # trace, src, dst and demo: ids and component names
MAX_TEXT_CHARS = 256  # each string in detail: a path, a reason, an error
MAX_DETAIL_ITEMS = 32  # entries of a list or an object inside detail
CUT_MARK = "…"  # ends every string that was cut
TRACE_CHANNEL = "archviz:trace"  # pub/sub: trace events, published in batches (JSON arrays)
TRACE_LOG = "archviz:trace:log"  # stream: the same batches, capped, for replay

KINDS = frozenset(
    {
        "node.start",  # supervisor -> node: a process was started
        "node.up",  # node -> redis: the node registered itself
        "node.down",  # supervisor -> node: the process exited
        "node.heartbeat_lost",  # supervisor -> node: its registry entry expired
        "node.failed",  # supervisor -> node: crashed too often, given up on
        "node.stop",  # supervisor -> node: stopped on purpose
        "node.update",  # supervisor -> node: runtime parameters changed
        "redis.down",  # supervisor -> redis
        "redis.up",  # supervisor -> redis
        "redis.client_closed",  # redis -> client: closed for its output buffer (its log says)
        "fault.inject",  # dashboard -> supervisor: an instructor's command
        "http.request",  # client -> server
        "http.response",  # server -> client
        "pubsub.publish",  # publisher -> redis
        "pubsub.deliver",  # redis -> subscriber
        "pubsub.lost",  # subscriber -> redis: its connection broke (redis-py re-makes it)
        "trace.dropped",  # emitter -> redis: events it had to drop
        "lb.route",  # lb -> node: where the balancer sent a request, and why
        "lb.algorithm",  # lb -> lb: the balancing algorithm was switched
        "lb.health",  # lb -> node: a backend's health changed
        "lb.retry",  # lb -> node: a request that could not connect is tried on another node
        "lb.reject",  # lb -> client: no healthy backend, the request was refused
        "session.read",  # node -> its memory or redis: a session was loaded (found or not)
        "session.write",  # node -> its memory or redis: a session was saved
        "queue.enqueue",  # producer -> redis: a job was added to the stream (XADD)
        "queue.deliver",  # redis -> consumer: a job was read by a consumer (XREADGROUP)
        "queue.ack",  # consumer -> redis: a job was done and acknowledged (XACK)
        "queue.redeliver",  # redis -> consumer: a job came back (claimed, or re-read on restart)
        "queue.fail",  # consumer -> redis: the handler failed; the job stays pending
        "queue.dead",  # consumer -> redis: a job went to the dead-letter stream
        "queue.duplicate",  # consumer -> redis: a finished job was already done: not counted
        "ws.open",  # lb -> node: a chat WebSocket was accepted
        "ws.close",  # node -> client: a chat WebSocket closed
        "chat.send",  # client -> node: a chat message arrived at its node
        "chat.deliver",  # node -> clients: a node forwarded a room message to its clients
        "chat.recover",  # redis -> node: missed messages replayed from the room's history
        "chat.lost",  # node -> client: history trimmed, the client was told to reload
        "chat.refuse",  # node -> client: bad input, flood or too slow
        "chat.mode",  # node -> node: the broadcast mode was switched
        "presence.join",  # node -> redis: a user joined a room
        "presence.leave",  # node -> redis: a user left a room
        "presence.offline",  # node -> redis: a user's heartbeats expired
        "auth.issue",  # auth -> client: a token was signed (or refused: not an instructor)
        "auth.rotate",  # auth -> redis: an instructor rotated the signing key
        "auth.revoke",  # auth -> redis: an instructor revoked one token
        "auth.expire_all",  # auth -> redis: an instructor expired every token issued so far
        "gateway.route",  # gateway -> gateway: a request's route was matched (or none was)
        "gateway.authenticate",  # gateway -> gateway: its token was verified (or refused)
        "gateway.authorise",  # gateway -> gateway: the token's scopes cover the route (or not)
        "gateway.limit",  # gateway -> redis: the consumer's token bucket let it pass (or not)
        "gateway.dispatch",  # gateway -> service replica: the request was sent, and answered
        "gateway.retry",  # gateway -> service replica: tried once more on another replica
        "gateway.response",  # gateway -> client: the answer, its time in gateway and upstream
        "gateway.deny",  # gateway -> client: a stage refused; no service saw the request
        "gateway.subscribe",  # gateway -> redis: an auction's first watcher on this replica
        "gateway.unsubscribe",  # gateway -> redis: an auction's last watcher left
        "gateway.watch",  # gateway -> client: a watcher was welcomed and caught up
        "gateway.unwatch",  # gateway -> client: a watcher's socket closed, and why
        "gateway.policy",  # gateway -> gateway: a replica put a class under a new rate limit
        "shed.reject",  # node -> client: over its reject threshold or ws_limit: refused (4013)
        "shed.disconnect",  # node -> clients: over its shed threshold: a batch closed (4014)
    }
)


class TraceEvent(TypedDict):
    v: Literal[1]
    id: str
    trace: str
    ts: float  # unix time in milliseconds
    kind: str
    src: str
    dst: str
    demo: str
    ok: bool
    ms: float | None
    detail: dict[str, Any]


class InvalidEvent(ValueError):
    """A trace event that does not follow the schema; the message says why."""


def new_trace_id() -> str:
    """16 random hex digits (a uuid4's first 16 cost four times as much to make)."""
    return os.urandom(8).hex()


# A flow's id as it travels between processes over HTTP: a page sets it, the balancer and
# the gateway take it if it is one (and answer it), so one flow is one id end to end.
TRACE_HEADER = "X-Archviz-Trace"
TRACE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def given_trace_id(header: str | None) -> str | None:
    """The trace id a request carries, when it is one (8-64 letters, digits, - or _)."""
    return header if header is not None and TRACE_ID.fullmatch(header) else None


def now_ms() -> float:
    return round(time.time() * 1000, 3)


def make_event(
    kind: str,
    src: str,
    dst: str,
    *,
    trace: str | None = None,
    demo: str = "lab",
    ok: bool = True,
    ms: float | None = None,
    detail: dict[str, Any] | None = None,
) -> TraceEvent:
    """A new, valid event stamped with the current time, its free text bounded."""
    if kind not in KINDS:
        raise InvalidEvent(f"unknown kind {kind!r}")
    event = TraceEvent(
        v=SCHEMA_VERSION,
        id=new_trace_id(),
        trace=trace or new_trace_id(),
        ts=now_ms(),
        kind=kind,
        src=src,
        dst=dst,
        demo=demo,
        ok=ok,
        ms=None if ms is None else round(ms, 3),
        detail=_bounded_detail(detail) if detail else {},
    )
    # A length check per field is all the hot path pays (the balancer makes one per request).
    if (
        len(event["trace"]) > MAX_NAME_CHARS
        or len(src) > MAX_NAME_CHARS
        or len(dst) > MAX_NAME_CHARS
        or len(demo) > MAX_NAME_CHARS
    ):
        _cut_names(event)
    return event


def cut_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` if it fits in `limit` characters, else its start ending in CUT_MARK, `limit` long."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


def _cut_names(event: TraceEvent) -> None:
    cut = [f for f in ("trace", "src", "dst", "demo") if len(event[f]) > MAX_NAME_CHARS]
    for field in cut:
        event[field] = cut_text(event[field], MAX_NAME_CHARS)  # type: ignore[literal-required]
    detail = dict(event["detail"])
    detail["cut"] = [*detail.get("cut", []), *cut]
    event["detail"] = detail


def _bounded_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """`detail` itself when nothing in it is too long (the usual case), else a bounded copy
    whose "cut" names the entries that were cut."""
    cut: list[str] = []
    for key, value in detail.items():
        if type(value) is str:
            if len(value) > MAX_TEXT_CHARS:
                cut.append(key)
        elif isinstance(value, dict | list | tuple) and _too_big(value):
            cut.append(key)
    if not cut:
        return detail
    bounded = dict(detail)
    for key in cut:
        bounded[key] = _bounded(detail[key])
    bounded["cut"] = cut
    return bounded


def _too_big(value: object) -> bool:
    """Whether a value in detail has a string or a container over its limit, at any depth."""
    if type(value) is str:
        return len(value) > MAX_TEXT_CHARS
    if isinstance(value, dict):
        return len(value) > MAX_DETAIL_ITEMS or any(map(_too_big, value.values()))
    if isinstance(value, list | tuple):
        return len(value) > MAX_DETAIL_ITEMS or any(map(_too_big, value))
    return False


def _bounded(value: Any) -> Any:
    if type(value) is str:
        return cut_text(value)
    if isinstance(value, dict):
        kept = list(value.items())[:MAX_DETAIL_ITEMS]
        return {k: _bounded(v) for k, v in kept}
    if isinstance(value, list | tuple):
        return [_bounded(v) for v in value[:MAX_DETAIL_ITEMS]]
    return value


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "trace": str,
    "ts": (int, float),
    "kind": str,
    "src": str,
    "dst": str,
    "demo": str,
    "ok": bool,
    "ms": (int, float, type(None)),
    "detail": dict,
}


def validate_event(obj: object) -> TraceEvent:
    """Return obj as a TraceEvent, or raise InvalidEvent naming the first problem."""
    if not isinstance(obj, dict):
        raise InvalidEvent("an event must be a JSON object")
    if "v" not in obj:
        raise InvalidEvent("missing field 'v'")
    if type(obj["v"]) is not int or obj["v"] != SCHEMA_VERSION:
        raise InvalidEvent(f"field 'v': unsupported schema version {obj['v']!r}")
    for field, expected in _FIELD_TYPES.items():
        if field not in obj:
            raise InvalidEvent(f"missing field {field!r}")
        value = obj[field]
        if isinstance(value, bool) and expected in ((int, float), (int, float, type(None))):
            raise InvalidEvent(f"field {field!r} must be a number")
        if not isinstance(value, expected):
            raise InvalidEvent(f"field {field!r} has the wrong type")
    if obj["kind"] not in KINDS:
        raise InvalidEvent(f"unknown kind {obj['kind']!r}")
    return TraceEvent(**{k: obj[k] for k in TraceEvent.__annotations__})
