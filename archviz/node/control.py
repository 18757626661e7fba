"""The node's control commands (issue 12): an instructor's faults in one node's process and
"shed N % now". Carried out by the node named in `node` (node/management/commands/node.py).

Their schemas and bounds are archviz/core/node_commands.py's.
"""

import logging
from typing import TYPE_CHECKING

from archviz.core.control import ControlCommand
from archviz.core.node_commands import BALLOON, HOG
from archviz.node.faults import ActiveFault, FaultRefused
from archviz.trace.emitter import get_emitter

if TYPE_CHECKING:
    from archviz.node.runtime import NodeRuntime

log = logging.getLogger(__name__)

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
