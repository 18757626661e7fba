"""The lab's nodes, scaled and configured by instructors from the pages or the API."""

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError

from archviz.core.instructor import ControlRefused, User, require_instructor, send_as
from archviz.core.names import next_numbered_name
from archviz.dashboard.models import Node
from archviz.lab.control import NODE_ACTIONS
from archviz.trace.emitter import get_emitter

MAX_NODES = 16


async def request_control(user: User, action: object, node: object) -> None:
    """A node action from the page or the API: kill, stop, restart, pause or resume."""
    await require_instructor(user)
    if action not in NODE_ACTIONS:
        raise ControlRefused(f"unknown action {action!r}; use one of {NODE_ACTIONS}", 400)
    await send_as(user, {"type": f"node.{action}", "node": node})


NODE_SETTINGS = ("weight", "capacity", "latency_ms", "jitter_ms", "ws_limit")
NODE_SETTINGS += ("reject_above", "shed_above")
NODE_CHOICES = ("admission", "shed_policy")  # names; the model's choices check them


async def configure_node(user: User, node: object, settings: dict) -> None:
    """Vertical scaling and faults: change a node's desired settings (applied live)."""
    await require_instructor(user)
    changes = {k: v for k, v in settings.items() if k in NODE_SETTINGS + NODE_CHOICES}
    if not changes or any(not _right_type(k, v) for k, v in changes.items()):
        raise ControlRefused(
            f"give whole numbers for some of {', '.join(NODE_SETTINGS)}"
            f" or names for {', '.join(NODE_CHOICES)}",
            400,
        )
    await sync_to_async(_save_node_settings)(node, changes)
    get_emitter().emit(
        "fault.inject", "supervisor", detail={"action": "node.config", "node": node} | changes
    )


def _right_type(field: str, value: object) -> bool:
    if field in NODE_CHOICES:
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool)


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
