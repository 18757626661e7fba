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
on anonymous learners (who have no user name to count by).
"""

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from importlib import import_module
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict

from archviz.core.frames import frame_type, parse_frame
from archviz.core.instructor import User

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
_MODULES: list[str] = []  # dotted paths of the apps' handler modules, not yet imported


def handlers_in(module: str) -> None:
    """Say that `module` (a dotted path) registers socket handlers, to import when needed."""
    _MODULES.append(module)


def load_handlers() -> None:
    """Import the apps' handler modules not yet imported (the dashboard does at its start)."""
    while _MODULES:
        import_module(_MODULES.pop(0))


def socket_handler(request: type) -> Callable[[Handler], Handler]:
    """Register the decorated handler for messages of `request`'s type (a TypedDict whose
    `type` field is a Literal naming it)."""
    kind = frame_type(request)

    def register(handler: Handler) -> Handler:
        _REQUESTS[kind] = request
        _HANDLERS[kind] = handler
        return handler

    return register


def request_types() -> tuple[str, ...]:
    load_handlers()
    return tuple(_HANDLERS)


def handler_for(kind: str) -> Handler:
    load_handlers()
    return _HANDLERS[kind]


def parse_request(raw: str | bytes) -> dict:
    """The frame as a message of the vocabulary, checked field by field; else InvalidFrame."""
    load_handlers()
    return parse_frame(raw, _REQUESTS, max_bytes=MAX_FRAME_BYTES)
