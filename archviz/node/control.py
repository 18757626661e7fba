"""The node's control commands (issue 12): an instructor's faults in one node's process and
"shed N % now". Carried out by the node named in `node` (node/management/commands/node.py).

Their types start with "node.", as the supervisor's node.kill, node.pause, ... do: the
supervisor hears these too and does nothing with them, and each node listens for these
exact types only, so neither carries out the other's.
"""

import logging
from typing import TYPE_CHECKING, Literal, TypedDict

from archviz.core.control import NODE_ID, ControlCommand, InvalidCommand, register_commands
from archviz.node.faults import MAX_BALLOON_MB, MAX_BALLOON_S, MAX_HOG_S, ActiveFault, FaultRefused
from archviz.trace.emitter import get_emitter

if TYPE_CHECKING:
    from archviz.node.runtime import NodeRuntime

log = logging.getLogger(__name__)

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


# --- carrying them out, on the node's loop ---------------------------------------------


async def carry_out(runtime: "NodeRuntime", command: ControlCommand) -> None:
    """Start the fault, or shed, if the command names this node; each one carried out or
    refused is a `fault.inject` event (refused: ok false, with the reason)."""
    if command["node"] != runtime.node_id:
        return  # another node's
    detail: dict = {"action": command["type"], "node": runtime.node_id, "by": command["by"]}
    try:
        detail |= _start(runtime, command)
    except FaultRefused as refused:
        log.warning("%s: refused %s: %s", runtime.node_id, command["type"], refused)
        detail |= {"refused": str(refused)}
    get_emitter().emit(
        "fault.inject",
        runtime.node_id,
        trace=command["trace"] or None,
        demo="overload",
        ok="refused" not in detail,
        detail=detail,
    )


def _start(runtime: "NodeRuntime", command: ControlCommand) -> dict:
    kind = command["type"]
    if kind == HOG:
        return runtime.faults.hog(command["seconds"]).as_dict()
    if kind == BALLOON:
        return runtime.faults.balloon(command["mb"], command["seconds"]).as_dict()
    return {"percent": command["percent"], "shed": runtime.shed_now(command["percent"])}


def fault_ended(runtime: "NodeRuntime", fault: ActiveFault) -> None:
    """Called from the fault's thread as it ends by itself (the emitter is thread-safe)."""
    get_emitter().emit(
        "fault.inject",
        runtime.node_id,
        demo="overload",
        detail={"action": f"node.{fault.kind}", "node": runtime.node_id, "ended": True}
        | fault.as_dict(),
    )
