"""WebSocket frames checked against the TypedDicts that write a vocabulary down.

One checker for every socket a browser talks to (the lab socket, the chat): a vocabulary is
a set of TypedDicts whose `type` field is a Literal naming them, and `parse_frame` turns a
frame into one of them, field by field, or raises InvalidFrame saying why.
"""

import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin


class InvalidFrame(ValueError):
    """A frame that is not one of the vocabulary's; the message says why, for the sender."""

    def __init__(self, reason: str, request: str | None = None) -> None:
        super().__init__(reason)
        self.request = request  # the frame's type, when it is a known one


def frame_type(schema: type) -> str:
    """The type a TypedDict stands for: the one value of its `type` field's Literal."""
    (kind,) = get_args(typing.get_type_hints(schema)["type"])
    return kind


def vocabulary(*schemas: type) -> dict[str, type]:
    """The schemas by the type each stands for, for parse_frame."""
    return {frame_type(schema): schema for schema in schemas}


def parse_frame(
    raw: str | bytes,
    schemas: Mapping[str, type],
    *,
    max_bytes: int,
    noun: str = "message",
    name_types: bool = False,
) -> dict:
    """The frame as the schema of its type, checked field by field; else InvalidFrame.

    Its size is counted in bytes (UTF-8), as it travelled. With `name_types`, an unknown
    type's error lists the known ones (for a short vocabulary)."""
    size = len(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidFrame(f"{noun} over {max_bytes // 1024} KiB")
    try:
        message = json.loads(raw)
    except ValueError:  # UnicodeDecodeError too: bytes that are not UTF-8
        raise InvalidFrame("malformed JSON") from None
    if not isinstance(message, dict):
        raise InvalidFrame(f"a {noun} must be a JSON object")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in schemas:
        known = f"; use {_either(list(schemas))}" if name_types else ""
        raise InvalidFrame(f"unknown {noun} type {kind!r}{known}")
    check_fields(message, schemas[kind])
    return message


def check_fields(message: dict, schema: type) -> None:
    """Each field of the TypedDict `schema` present when required and of its type."""
    hints = typing.get_type_hints(schema)
    for field, hint in hints.items():
        if field not in message:
            if field in schema.__required_keys__:
                raise InvalidFrame(f"{field} is missing", message["type"])
            continue
        if not _matches(message[field], hint):
            raise InvalidFrame(f"{field} must be {_describe(hint)}", message["type"])


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


def _either(choices: list[str]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]
