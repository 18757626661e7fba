"""The lab socket's vocabulary and extension point: what a browser may send, and who answers.

Each app names the module of its handlers here (from its AppConfig.ready) with
`handlers_in`, and that module adds them with `socket_handler`, naming the TypedDict its
message must match. The modules are imported when the vocabulary is first needed (in the
dashboard, which serves the socket): every other process of the lab starts without them.
The dashboard's LabConsumer parses every frame once with `parse_request` (checked by
archviz/core/frames.py) and hands it to the handler of its type.
A handler returns the frame to send back (an ack, a pong) or raises ControlRefused, which
becomes an error frame naming the request. Mirrored in static/archviz/js/lib/protocol.js.
While a handler runs, `caller()` says which socket and address sent the frame, for limits
on anonymous learners (who have no user name to count by), and from which page.
A handler registered with `sets=` changes state the pages share (the traffic, the nodes, a
mode): once it succeeds, who set it and from where is recorded (core/set_by.py), for every
other page to say so.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from importlib import import_module
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict

import redis

from archviz.core import set_by
from archviz.core.frames import frame_type, parse_frame
from archviz.core.instructor import User
from archviz.core.redis_conn import shared_client

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024


class AckFrame(TypedDict):
    type: Literal["ack"]
    action: str  # kill, stop, restart, pause, resume, lb.algorithm, traffic, node.config, ...
    node: NotRequired[str]  # the node it was about, when there was one


class ErrorFrame(TypedDict):
    type: Literal["error"]
    reason: str
    request: NotRequired[str]  # the type of the client message it answers, when there was one
    node: NotRequired[str]  # the node that message was about, when there was one


def error(reason: str, *, request: str | None = None, node: object = None) -> ErrorFrame:
    frame = ErrorFrame(type="error", reason=reason)
    if request is not None:
        frame["request"] = request
    if isinstance(node, str):
        frame["node"] = node
    return frame


def ack(action: str, node: object = None) -> AckFrame:
    frame = AckFrame(type="ack", action=action)
    if isinstance(node, str):
        frame["node"] = node
    return frame


class Caller(NamedTuple):
    """Where the frame being handled came from."""

    socket: str  # the lab socket's own id, unique among every dashboard's sockets
    address: str  # the client's IP address, as the dashboard sees it
    page: str = ""  # the page's path ("/queue/"), or "lesson: <name>"; "" where unknown


NO_CALLER = Caller(socket="", address="unknown")  # a handler called outside a lab socket
_caller: ContextVar[Caller | None] = ContextVar("lab_socket_caller", default=None)


@contextlib.contextmanager
def calling_as(caller: Caller) -> Iterator[None]:
    """Run a handler on behalf of `caller` (the LabConsumer wraps every call in this)."""
    token = _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(token)


def caller() -> Caller:
    """The socket and address of the frame being handled."""
    return _caller.get() or NO_CALLER


Handler = Callable[[User, Any], Awaitable[Mapping[str, Any]]]
_REQUESTS: dict[str, type] = {}
_HANDLERS: dict[str, Handler] = {}
_SETS: dict[str, tuple[str, ...]] = {}  # request type -> the shared state it sets
_MODULES: list[str] = []  # dotted paths of the apps' handler modules, not yet imported


def handlers_in(module: str) -> None:
    """Say that `module` (a dotted path) registers socket handlers, to import when needed."""
    _MODULES.append(module)


def load_handlers() -> None:
    """Import the apps' handler modules not yet imported (the dashboard does at its start)."""
    while _MODULES:
        import_module(_MODULES.pop(0))


def socket_handler(request: type, sets: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    """Register the decorated handler for messages of `request`'s type (a TypedDict whose
    `type` field is a Literal naming it); `sets` names the shared state it changes (WHATS
    in core/set_by.py), recorded each time it succeeds."""
    kind = frame_type(request)
    for what in sets:
        if what not in set_by.WHATS:
            raise ValueError(f"{kind}: unknown shared state {what!r}; use one of {set_by.WHATS}")

    def register(handler: Handler) -> Handler:
        _REQUESTS[kind] = request
        _HANDLERS[kind] = _recording(handler, sets) if sets else handler
        _SETS[kind] = sets
        return handler

    return register


def _recording(handler: Handler, sets: tuple[str, ...]) -> Handler:
    async def recorded(user: User, message: Any) -> Mapping[str, Any]:
        answer = await handler(user, message)  # a refusal raises: nothing is recorded
        by = user.get_username() if user.is_authenticated else "someone"
        try:
            await asyncio.to_thread(_record, sets, by, caller().page)
        except redis.RedisError as exc:  # done, but unsaid: the log says why
            logger.warning("could not record who set %s: %s", ", ".join(sets), exc)
        return answer

    return recorded


def _record(sets: tuple[str, ...], by: str, page: str) -> None:
    client = shared_client()
    for what in sets:
        set_by.record(client, what, by, page)


def request_types() -> tuple[str, ...]:
    load_handlers()
    return tuple(_HANDLERS)


def handler_for(kind: str) -> Handler:
    load_handlers()
    return _HANDLERS[kind]


def sets_of(kind: str) -> tuple[str, ...]:
    """The shared state a request of this type sets (WHATS in core/set_by.py), if any."""
    load_handlers()
    return _SETS[kind]


def parse_request(raw: str | bytes) -> dict:
    """The frame as a message of the vocabulary, checked field by field; else InvalidFrame."""
    load_handlers()
    return parse_frame(raw, _REQUESTS, max_bytes=MAX_FRAME_BYTES)
