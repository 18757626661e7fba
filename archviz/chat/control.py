"""The chat demo's control commands: the broadcast mode (the nodes) and the bots."""

import re
from typing import Literal, TypedDict

from archviz.core.control import InvalidCommand, register_commands, validate_choice

CHAT_MODES = ("local", "redis")
CHAT_ROOM = re.compile(r"[A-Za-z0-9_-]{1,40}")  # use with fullmatch
MAX_BOTS_PER_ROOM = 50


class ChatModeCommand(TypedDict):
    type: Literal["chat.mode"]
    mode: str  # "local" (InMemoryChannelLayer) or "redis" (channels-redis pub/sub)
    by: str
    trace: str


class ChatBotsCommand(TypedDict):
    type: Literal["chat.bots"]
    room: str
    count: int  # bots to keep in this room (0 removes them)
    by: str
    trace: str


def _mode_fields(obj: dict) -> dict:
    return {"mode": validate_choice("chat mode", obj.get("mode"), CHAT_MODES)}


def _bots_fields(obj: dict) -> dict:
    room, count = obj.get("room"), obj.get("count")
    if not isinstance(room, str) or not CHAT_ROOM.fullmatch(room):
        raise InvalidCommand("room must be 1-40 letters, digits, - or _")
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidCommand("count must be a whole number")
    if not 0 <= count <= MAX_BOTS_PER_ROOM:
        raise InvalidCommand(f"count must be from 0 to {MAX_BOTS_PER_ROOM}")
    return {"room": room, "count": count}


def register() -> None:
    register_commands(("chat.mode",), _mode_fields, carried_out_by="nodes")
    register_commands(("chat.bots",), _bots_fields, carried_out_by="chat bots")
