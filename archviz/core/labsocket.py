"""The lab socket's vocabulary and extension point: what a browser may send, and who answers.

Each app adds its handlers here (from its AppConfig.ready) with `socket_handler`, naming the
TypedDict its message must match; the dashboard's LabConsumer parses every frame once with
`parse_request` and hands it to the handler of its type. A handler returns the frame to send
back (an ack, a pong) or raises ControlRefused, which becomes an error frame naming the
request. Mirrored in static/archviz/js/lib/protocol.js.
"""

import json
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, NotRequired, TypedDict, get_args, get_origin

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


class InvalidRequest(ValueError):
    """A browser message that is not one of the vocabulary's; the message says why."""

    def __init__(self, reason: str, request: str | None = None) -> None:
        super().__init__(reason)
        self.request = request  # the message's type, when it is a known one


Handler = Callable[[User, Any], Awaitable[Mapping[str, Any]]]
_HANDLERS: dict[str, tuple[type, Handler]] = {}


def socket_handler(request: type) -> Callable[[Handler], Handler]:
    """Register the decorated handler for messages of `request`'s type (a TypedDict whose
    `type` field is a Literal naming it)."""
    (kind,) = get_args(typing.get_type_hints(request)["type"])

    def register(handler: Handler) -> Handler:
        _HANDLERS[kind] = (request, handler)
        return handler

    return register


def request_types() -> tuple[str, ...]:
    return tuple(_HANDLERS)


def handler_for(kind: str) -> Handler:
    return _HANDLERS[kind][1]


def parse_request(raw: str | bytes) -> dict:
    """The frame as a message of the vocabulary, checked field by field; else InvalidRequest."""
    if len(raw if isinstance(raw, bytes) else raw.encode()) > MAX_FRAME_BYTES:
        raise InvalidRequest("message over 64 KiB")
    try:
        message = json.loads(raw)
    except ValueError:
        raise InvalidRequest("malformed JSON") from None
    if not isinstance(message, dict):
        raise InvalidRequest("a message must be a JSON object")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _HANDLERS:
        raise InvalidRequest(f"unknown message type {kind!r}")
    check_fields(message, _HANDLERS[kind][0])
    return message


def check_fields(message: dict, schema: type) -> None:
    """Each field of the TypedDict `schema` present when required and of its type."""
    hints = typing.get_type_hints(schema)
    for field, hint in hints.items():
        if field not in message:
            if field in schema.__required_keys__:
                raise InvalidRequest(f"{field} is missing", message["type"])
            continue
        if not _matches(message[field], hint):
            raise InvalidRequest(f"{field} must be {_describe(hint)}", message["type"])


def _matches(value: object, hint: Any) -> bool:
    origin = get_origin(hint)
    if hint is Any or hint is object:
        return True
    if origin is Literal:
        return any(value == choice and type(value) is type(choice) for choice in get_args(hint))
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, arm) for arm in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:  # JSON does not tell 1 from 1.0
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or hint)


def _describe(hint: Any) -> str:
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(repr(choice) for choice in get_args(hint))
    if get_origin(hint) in (types.UnionType, typing.Union):
        return " or ".join(_describe(arm) for arm in get_args(hint))
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             dict: "an object", list: "a list", type(None): "null"}  # fmt: skip
    return names.get(get_origin(hint) or hint, str(hint))
