"""The sessions demo's control command: where sessions live, for every node."""

from typing import Literal, TypedDict

from archviz.core.control import InvalidCommand, register_commands
from archviz.sessions.modes import InvalidMode, parse_mode


class SessionModeCommand(TypedDict):
    type: Literal["session.mode"]
    mode: str  # archviz.sessions.modes: local, sticky or redis
    by: str
    trace: str


def _fields(obj: dict) -> dict:
    try:
        return {"mode": parse_mode(obj.get("mode"))}
    except InvalidMode as exc:
        raise InvalidCommand(str(exc)) from None


def register() -> None:
    register_commands(("session.mode",), _fields, carried_out_by="nodes")
