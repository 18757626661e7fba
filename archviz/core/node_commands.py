"""The control commands a worker node carries out on itself (issue 12): an instructor's
faults in its process and "shed N % now", with their bounds. Written here because the node
carries them out (archviz/node/control.py) and the overload page sends them
(archviz/overload/socket.py); every bound is checked where a command is parsed, so a bad
value is refused before anything is published, with a message naming the field.

Their types start with "node.", as the supervisor's node.kill, node.pause, ... do: the
supervisor hears these too and does nothing with them, and each node listens for these
exact types only, so neither carries out the other's.
"""

from typing import Literal, TypedDict

from archviz.core.control import NODE_ID, InvalidCommand, register_commands

MAX_HOG_S = 30
MAX_BALLOON_MB = 512
MAX_BALLOON_S = 60
SHED_POLICIES = ("newest", "oldest", "random", "priority")  # archviz/node/shedding.py's

HOG, BALLOON, SHED = "node.hog", "node.balloon", "node.shed"
NODE_FAULT_COMMANDS = (HOG, BALLOON, SHED)

# each command's whole-number fields: (field, minimum, maximum)
FIELD_RANGES: dict[str, tuple[tuple[str, int, int], ...]] = {
    HOG: (("seconds", 1, MAX_HOG_S),),
    BALLOON: (("mb", 1, MAX_BALLOON_MB), ("seconds", 1, MAX_BALLOON_S)),
    SHED: (("percent", 1, 100),),
}


class HogCommand(TypedDict):
    type: Literal["node.hog"]
    node: str
    seconds: int  # a core spun for this long
    by: str
    trace: str


class BalloonCommand(TypedDict):
    type: Literal["node.balloon"]
    node: str
    mb: int  # MiB made resident
    seconds: int  # held this long
    by: str
    trace: str


class ShedCommand(TypedDict):
    type: Literal["node.shed"]
    node: str
    percent: int  # of its open sockets, closed now
    by: str
    trace: str


def parse_fields(obj: dict) -> dict:
    """The node and the whole numbers of a node.hog, node.balloon or node.shed."""
    kind = obj.get("type")
    if kind not in FIELD_RANGES:
        raise InvalidCommand(f"unknown command {kind!r}")
    fields: dict = {"node": _node(kind, obj.get("node"))}
    for name, low, high in FIELD_RANGES[kind]:
        fields[name] = _whole(kind, name, obj.get(name), low, high)
    return fields


def _node(kind: str, node: object) -> str:
    if node is None:
        raise InvalidCommand(f"{kind}: node is missing (the id of the node to act on)")
    if not isinstance(node, str) or not NODE_ID.fullmatch(node):
        raise InvalidCommand(f"{kind}: node {str(node)[:60]!r} is not a node id (e.g. node-1)")
    return node


def _whole(kind: str, name: str, value: object, low: int, high: int) -> int:
    if value is None:
        raise InvalidCommand(f"{kind}: {name} is missing (a whole number from {low} to {high})")
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or not low <= value <= high:
        shown = str(value)[:20]
        raise InvalidCommand(f"{kind}: {name} must be a whole number from {low} to {high}, "
                             f"not {shown}")  # fmt: skip
    return value


def register() -> None:
    register_commands(NODE_FAULT_COMMANDS, parse_fields, carried_out_by="nodes")
