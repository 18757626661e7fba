"""The overload demo's faults a node carries out on itself: a CPU hog, a memory balloon, shed
a share of its clients now (the flood's `overload.clients` is archviz/overload/clients.py's).
Every bound is checked here, so a bad value is refused before anything is published, with a
message naming the field."""

from typing import Literal, TypedDict

from archviz.core.control import InvalidCommand, register_commands, validate_node_id

# The names of archviz/node/shedding.py's policies: a demo imports no other demo's package,
# so they are written here too, and tests/overload/test_control.py checks the two agree.
SHED_POLICIES = ("newest", "oldest", "random", "priority")
MAX_HOG_S = 30
MAX_BALLOON_MB = 512
MAX_BALLOON_S = 60


class NodeHogCommand(TypedDict):
    type: Literal["node.hog"]
    node: str
    seconds: int  # a thread spinning in the node's process, holding the GIL
    by: str
    trace: str


class NodeBalloonCommand(TypedDict):
    type: Literal["node.balloon"]
    node: str
    mb: int  # allocated and touched, then freed after `seconds`
    seconds: int
    by: str
    trace: str


class NodeShedCommand(TypedDict):
    type: Literal["node.shed"]
    node: str
    percent: int  # of its open WebSockets, disconnected now
    by: str
    trace: str


def whole_number(obj: dict, field: str, low: int, high: int) -> int:
    """obj[field] if it is a whole number from low to high; the error names the field."""
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCommand(f"{field} must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise InvalidCommand(f"{field} must be from {low} to {high}, not {value}")
    return value


def _node(obj: dict) -> str:
    try:
        return validate_node_id(obj.get("node"))
    except InvalidCommand:
        raise InvalidCommand(f"node must be a node id, not {obj.get('node')!r}") from None


def _hog_fields(obj: dict) -> dict:
    return {"node": _node(obj), "seconds": whole_number(obj, "seconds", 1, MAX_HOG_S)}


def _balloon_fields(obj: dict) -> dict:
    return {
        "node": _node(obj),
        "mb": whole_number(obj, "mb", 1, MAX_BALLOON_MB),
        "seconds": whole_number(obj, "seconds", 1, MAX_BALLOON_S),
    }


def _shed_fields(obj: dict) -> dict:
    return {"node": _node(obj), "percent": whole_number(obj, "percent", 1, 100)}


def register() -> None:
    register_commands(("node.hog",), _hog_fields, carried_out_by="the node")
    register_commands(("node.balloon",), _balloon_fields, carried_out_by="the node")
    register_commands(("node.shed",), _shed_fields, carried_out_by="the node")
