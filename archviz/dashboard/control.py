"""Instructor commands from the page (WebSocket) or the API (HTTP), checked on the server."""

import asyncio
import json
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError

from archviz.dashboard.messages import CONTROL_ACTIONS
from archviz.dashboard.models import Node
from archviz.lab.control import ControlCommand, InvalidCommand, parse_command, send_command
from archviz.lab.redis_conn import shared_client
from archviz.trace.emitter import get_emitter
from archviz.trace.events import new_trace_id

PERMISSION = "dashboard.control_lab"
MAX_NODES = 16
CARRIED_OUT_BY = {
    "node": "supervisor",
    "lb": "lb",
    "traffic": "traffic",
    "session": "nodes",
    "queue": "supervisor",
    "chat": "nodes",
}

User = AbstractBaseUser | AnonymousUser


class ControlRefused(Exception):
    """The command was not sent; the message says why, in words for the user."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


async def may_control(user: User) -> bool:
    return await sync_to_async(user.has_perm)(PERMISSION)


async def require_instructor(user: User) -> None:
    if not await may_control(user):
        raise ControlRefused("only instructors (permission control_lab) can do that", 403)


async def send_as(user: User, fields: dict) -> ControlCommand:
    """Check permission and input, then publish the command to whoever carries it out."""
    await require_instructor(user)
    try:
        command = parse_command(
            json.dumps(fields | {"by": user.get_username(), "trace": new_trace_id()})
        )
    except InvalidCommand as exc:
        raise ControlRefused(str(exc), 400) from None
    receivers = await asyncio.to_thread(send_command, shared_client(), command)
    target = CARRIED_OUT_BY[command["type"].split(".")[0]]
    if receivers == 0:
        raise ControlRefused(f"nothing is listening for commands ({target} not running?)", 503)
    detail = {k: v for k, v in command.items() if k not in ("type", "trace")}
    get_emitter().emit(
        "fault.inject", target, trace=command["trace"], detail={"action": command["type"]} | detail
    )
    return command


async def request_control(user: User, action: object, node: object) -> None:
    """A node action from the page or the API: kill, stop, restart, pause or resume."""
    await require_instructor(user)
    if action not in CONTROL_ACTIONS:
        raise ControlRefused(f"unknown action {action!r}; use one of {CONTROL_ACTIONS}", 400)
    await send_as(user, {"type": f"node.{action}", "node": node})


NODE_SETTINGS = ("weight", "capacity", "latency_ms", "jitter_ms")


async def configure_node(user: User, node: object, settings: dict) -> None:
    """Vertical scaling and faults: change a node's desired settings (applied live)."""
    await require_instructor(user)
    changes = {k: v for k, v in settings.items() if k in NODE_SETTINGS}
    if not changes or any(isinstance(v, bool) or not isinstance(v, int) for v in changes.values()):
        raise ControlRefused(f"give whole numbers for some of {', '.join(NODE_SETTINGS)}", 400)
    await sync_to_async(_save_node_settings)(node, changes)
    get_emitter().emit(
        "fault.inject", "supervisor", detail={"action": "node.config", "node": node} | changes
    )


def _save_node_settings(node: object, changes: dict) -> None:
    row = Node.objects.filter(name=node).first()
    if row is None:
        raise ControlRefused(f"no node called {node!r}", 404)
    for field, value in changes.items():
        setattr(row, field, value)
    try:
        row.full_clean()
    except ValidationError as invalid:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in invalid.message_dict.items())
        raise ControlRefused(problems, 400) from None
    row.save(update_fields=list(changes))


async def add_node(user: User) -> str:
    """Horizontal scaling: one more node, named after the highest number in use."""
    await require_instructor(user)
    name = await sync_to_async(_create_next_node)()
    get_emitter().emit("fault.inject", "supervisor", detail={"action": "node.add", "node": name})
    return name


def next_numbered_name(prefix: str, names: Iterable[str]) -> str:
    """`<prefix>-N` for N one above the highest number in use ("node-4" after node-3)."""
    numbers = [int(n.rsplit("-", 1)[1]) for n in names if n.rsplit("-", 1)[-1].isdigit()]
    return f"{prefix}-{max(numbers, default=0) + 1}"


def _create_next_node() -> str:
    names = list(Node.objects.values_list("name", flat=True))
    if len(names) >= MAX_NODES:
        raise ControlRefused(f"the lab runs at most {MAX_NODES} nodes", 400)
    return Node.objects.create(name=next_numbered_name("node", names)).name


async def remove_node(user: User, node: object) -> None:
    """Horizontal scaling: the node is stopped gracefully and forgotten."""
    await require_instructor(user)
    deleted, _ = await sync_to_async(Node.objects.filter(name=node).delete)()
    if not deleted:
        raise ControlRefused(f"no node called {node!r}", 404)
    get_emitter().emit("fault.inject", "supervisor", detail={"action": "node.remove", "node": node})
