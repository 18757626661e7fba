"""The overload demo's control command, `overload.clients`: how many WebSocket clients the
overload clients process (overload/clients.py) holds, where, and for how long. Registered
by every process of the lab (AppConfig.ready), so it stays light: no client code here."""

from typing import Literal, TypedDict

from archviz.core.control import NODE_ID, InvalidCommand, register_commands

MAX_CLIENTS = 2000
MAX_FLOOD_S = 120
DEFAULT_FLOOD_S = 60  # a command without `seconds` still ends by itself
LB = "lb"


class OverloadClientsCommand(TypedDict):
    type: Literal["overload.clients"]
    count: int  # clients to hold, 0..MAX_CLIENTS (0 closes them all)
    target: str  # "lb", or a node id: every client straight at that node
    seconds: int  # 1..MAX_FLOOD_S (default DEFAULT_FLOOD_S): then count goes back to 0
    by: str
    trace: str


def parse_clients_command(obj: dict) -> dict:
    """The fields of an `overload.clients` command; InvalidCommand names a bad one."""
    count, target = obj.get("count"), obj.get("target")
    seconds = obj.get("seconds", DEFAULT_FLOOD_S)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_CLIENTS:
        raise InvalidCommand(f"count must be a whole number from 0 to {MAX_CLIENTS}, got {count!r}")
    if not isinstance(target, str) or not (target == LB or NODE_ID.fullmatch(target)):
        raise InvalidCommand(f"target must be 'lb' or a node id such as node-2, got {target!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_FLOOD_S:
        raise InvalidCommand(
            f"seconds must be a whole number from 1 to {MAX_FLOOD_S}, got {seconds!r}"
        )
    return {"count": count, "target": target, "seconds": seconds}


def register() -> None:
    register_commands(("overload.clients",), parse_clients_command, "overload clients")
