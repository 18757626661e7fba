"""Control commands on the `archviz:control` channel: schema, validation, and sending.

The supervisor carries out `node.*` and `queue.*`, the load balancer `lb.*`, the traffic
generator `traffic.*`, the nodes `session.*` and `chat.*`; each ignores the others'
commands. The dashboard checks permissions before it sends any of them.
"""

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Literal, NotRequired, TypedDict

import redis

from archviz.balancer.algorithms import NAMES as ALGORITHM_NAMES
from archviz.lab import keys
from archviz.lab.redis_conn import async_blocking_client
from archviz.sessions.modes import InvalidMode, parse_mode

log = logging.getLogger(__name__)
RESUBSCRIBE_AFTER_S = 0.5

NODE_COMMANDS = ("node.kill", "node.stop", "node.restart", "node.pause", "node.resume")
QUEUE_COMMANDS = ("queue.stop", "queue.start", "queue.kill")
COMMANDS = (
    *NODE_COMMANDS,
    "lb.algorithm",
    "traffic.set",
    "session.mode",
    *QUEUE_COMMANDS,
    "chat.mode",
    "chat.bots",
)
NODE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # use with fullmatch

# traffic.set limits: (field, type, minimum, maximum)
TRAFFIC_LIMITS = (
    ("rate", float, 0, 500),
    ("work_ms", float, 0, 5_000),
    ("variance_ms", float, 0, 5_000),
    ("ws_clients", int, 0, 500),
)


class NodeCommand(TypedDict):
    type: Literal["node.kill", "node.stop", "node.restart", "node.pause", "node.resume"]
    node: str
    by: str  # who asked, for the trace log
    trace: str


class AlgorithmCommand(TypedDict):
    type: Literal["lb.algorithm"]
    algorithm: str
    by: str
    trace: str


QUEUE_MODES = ("off", "also", "only")  # traffic.set's optional `queue`: where arrivals go too


class TrafficCommand(TypedDict):
    type: Literal["traffic.set"]
    rate: float  # requests per second, Poisson arrivals; 0 stops
    work_ms: float  # mean work each request asks of a node
    variance_ms: float  # standard deviation of that work
    ws_clients: int  # long-lived WebSocket clients to hold through the LB
    queue: NotRequired[str]  # off | also (each arrival also XADDs a job) | only; absent: as was
    by: str
    trace: str


class SessionModeCommand(TypedDict):
    type: Literal["session.mode"]
    mode: str  # archviz.sessions.modes: local, sticky or redis
    by: str
    trace: str


class ChatModeCommand(TypedDict):
    type: Literal["chat.mode"]
    mode: str  # "local" (InMemoryChannelLayer) or "redis" (channels-redis pub/sub)
    by: str
    trace: str


class QueueCommand(TypedDict):
    """Stop or start the queue's consumers, or SIGKILL one mid-job (the supervisor's)."""

    type: Literal["queue.stop", "queue.start", "queue.kill"]
    consumer: str  # "": every consumer (stop, start), or the busiest one (kill)
    by: str
    trace: str


class ChatBotsCommand(TypedDict):
    type: Literal["chat.bots"]
    room: str
    count: int  # bots to keep in this room (0 removes them)
    by: str
    trace: str


CHAT_MODES = ("local", "redis")
CHAT_ROOM = re.compile(r"[A-Za-z0-9_-]{1,40}")  # use with fullmatch
MAX_BOTS_PER_ROOM = 50

ControlCommand = (
    NodeCommand
    | AlgorithmCommand
    | TrafficCommand
    | SessionModeCommand
    | QueueCommand
    | ChatModeCommand
    | ChatBotsCommand
)


class InvalidCommand(ValueError):
    """A control command that does not follow the schema; the message says why."""


def parse_command(raw: bytes | str) -> ControlCommand:
    try:
        obj = json.loads(raw)
    except ValueError:
        raise InvalidCommand("not JSON") from None
    if not isinstance(obj, dict):
        raise InvalidCommand("a command must be a JSON object")
    kind = obj.get("type")
    if kind not in COMMANDS:
        raise InvalidCommand(f"unknown command {kind!r}")
    by, trace = obj.get("by", ""), obj.get("trace", "")
    if not isinstance(by, str) or not isinstance(trace, str):
        raise InvalidCommand("'by' and 'trace' must be strings")
    common = {"type": kind, "by": by[:150], "trace": trace[:64]}
    if kind == "lb.algorithm":
        return AlgorithmCommand(**common, algorithm=validate_algorithm(obj.get("algorithm")))
    if kind == "traffic.set":
        return TrafficCommand(**common, **validate_traffic(obj))
    if kind == "session.mode":
        return SessionModeCommand(**common, mode=validate_session_mode(obj.get("mode")))
    if kind in QUEUE_COMMANDS:
        consumer = obj.get("consumer") or ""
        return QueueCommand(**common, consumer=consumer and validate_node_id(consumer))
    if kind == "chat.mode":
        return ChatModeCommand(**common, mode=validate_chat_mode(obj.get("mode")))
    if kind == "chat.bots":
        return ChatBotsCommand(**common, **validate_chat_bots(obj))
    return NodeCommand(**common, node=validate_node_id(obj.get("node")))


def validate_node_id(node: object) -> str:
    if not isinstance(node, str) or not NODE_ID.fullmatch(node):
        raise InvalidCommand(f"bad node id {node!r}")
    return node


def validate_algorithm(name: object) -> str:
    if name not in ALGORITHM_NAMES:
        raise InvalidCommand(f"unknown algorithm {name!r}; use one of {', '.join(ALGORITHM_NAMES)}")
    return name


def validate_session_mode(mode: object) -> str:
    try:
        return parse_mode(mode)
    except InvalidMode as exc:
        raise InvalidCommand(str(exc)) from None


def validate_traffic(obj: dict) -> dict:
    """The traffic settings, each a number within its limits."""
    settings = {}
    for field, kind, low, high in TRAFFIC_LIMITS:
        value = obj.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidCommand(f"{field} must be a number")
        if not low <= value <= high:
            raise InvalidCommand(f"{field} must be from {low} to {high}")
        settings[field] = kind(value)
    if "queue" in obj:
        if obj["queue"] not in QUEUE_MODES:
            raise InvalidCommand(f"queue must be one of {', '.join(QUEUE_MODES)}")
        settings["queue"] = obj["queue"]
    return settings


def validate_chat_mode(mode: object) -> str:
    if mode not in CHAT_MODES:
        raise InvalidCommand(f"unknown chat mode {mode!r}; use one of {', '.join(CHAT_MODES)}")
    return mode


def validate_chat_bots(obj: dict) -> dict:
    room, count = obj.get("room"), obj.get("count")
    if not isinstance(room, str) or not CHAT_ROOM.fullmatch(room):
        raise InvalidCommand("room must be 1-40 letters, digits, - or _")
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidCommand("count must be a whole number")
    if not 0 <= count <= MAX_BOTS_PER_ROOM:
        raise InvalidCommand(f"count must be from 0 to {MAX_BOTS_PER_ROOM}")
    return {"room": room, "count": count}


def send_command(client: redis.Redis, command: ControlCommand) -> int:
    """Publish a command; returns how many processes received it (0: none listening)."""
    return client.publish(keys.CONTROL_CHANNEL, json.dumps(command))


async def listen_for_commands(
    component: str,
    prefix: str | tuple[str, ...],
    carry_out: Callable[[ControlCommand], Awaitable[None]],
) -> None:
    """For ever: hand each valid command whose type starts with `prefix` (or one of) to carry_out.

    Malformed commands are logged and skipped, a failing carry_out is logged, and a lost
    Redis connection is resubscribed: a component never dies of its control channel.
    """
    lost = False
    while True:
        client = async_blocking_client()
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(keys.CONTROL_CHANNEL)
                if lost:
                    log.info("%s: listening for commands again", component)
                    lost = False
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        await _dispatch(component, prefix, message["data"], carry_out)
        except (redis.RedisError, OSError) as exc:
            if not lost:  # once per outage
                log.warning("%s: control channel lost, resubscribing: %s", component, exc)
            lost = True
        finally:
            with contextlib.suppress(redis.RedisError, OSError):
                await client.aclose()
        await asyncio.sleep(RESUBSCRIBE_AFTER_S)


async def _dispatch(component: str, prefix: str | tuple[str, ...], raw: bytes, carry_out) -> None:
    try:
        command = parse_command(raw)
    except InvalidCommand as exc:
        log.warning("%s: ignored a malformed control command: %s", component, exc)
        return
    if not command["type"].startswith(prefix):
        return  # another component's
    try:
        await carry_out(command)
    except Exception:  # one command that fails must not end the listening
        log.exception("%s: failed to carry out %s", component, command["type"])
