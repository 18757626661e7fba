"""The supervisor's own control commands: kill, stop, restart, pause or resume a child."""

from typing import Literal, TypedDict

from archviz.core.control import register_commands, validate_node_id

NODE_ACTIONS = ("kill", "stop", "restart", "pause", "resume")
NODE_COMMANDS = tuple(f"node.{action}" for action in NODE_ACTIONS)


class NodeCommand(TypedDict):
    type: Literal["node.kill", "node.stop", "node.restart", "node.pause", "node.resume"]
    node: str  # any supervised child: a node, a consumer
    by: str
    trace: str


def _fields(obj: dict) -> dict:
    return {"node": validate_node_id(obj.get("node"))}


def register() -> None:
    register_commands(NODE_COMMANDS, _fields, carried_out_by="supervisor")
