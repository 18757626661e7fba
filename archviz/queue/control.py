"""The queue's control commands, carried out by the supervisor on the consumers
(archviz/queue/supervision.py): stop or start them, or SIGKILL one mid-job."""

from typing import Literal, TypedDict

from archviz.core.control import register_commands, validate_node_id

QUEUE_COMMANDS = ("queue.stop", "queue.start", "queue.kill")


class QueueCommand(TypedDict):
    type: Literal["queue.stop", "queue.start", "queue.kill"]
    consumer: str  # "": every consumer (stop, start), or the busiest one (kill)
    by: str
    trace: str


def _fields(obj: dict) -> dict:
    consumer = obj.get("consumer") or ""
    return {"consumer": consumer and validate_node_id(consumer)}


def register() -> None:
    register_commands(QUEUE_COMMANDS, _fields, carried_out_by="supervisor")
