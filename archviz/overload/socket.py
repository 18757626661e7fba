"""The overload page's requests on the lab socket, all instructors' and checked on the
server: a flood of WebSocket clients, a CPU hog, a memory balloon, shed now, the doubled
load with the limiter on or off, and the lab's reconnect and shedding policies."""

import asyncio
import json
from typing import Literal, NotRequired, TypedDict

import redis
from asgiref.sync import sync_to_async

from archviz.core import keys, registry
from archviz.core.control import InvalidCommand
from archviz.core.instructor import ControlRefused, User, require_instructor, send_as
from archviz.core.labsocket import AckFrame, ack, socket_handler
from archviz.core.node_commands import SHED_POLICIES
from archviz.core.reconnect import MAX_BASE_MS, MAX_CAP_MS, POLICY_KEY, RECONNECT_POLICIES
from archviz.core.redis_conn import shared_client
from archviz.overload import control, limiter
from archviz.overload import keys as overload_keys
from archviz.trace.emitter import get_emitter
from archviz.trace.events import now_ms

MAX_TRAFFIC_RATE = 500  # traffic.set's bound (archviz/traffic/control.py)
RECONNECT_BOUNDS = {"base_ms": (0, MAX_BASE_MS), "cap_ms": (0, MAX_CAP_MS)}
_TRAFFIC_FIELDS = ("work_ms", "variance_ms", "ws_clients")


class OverloadClientsRequest(TypedDict):
    type: Literal["overload.clients"]
    count: int  # WebSocket clients the overload clients process holds (0: none)
    target: str  # a node id, or "lb"
    seconds: NotRequired[int]  # then the flood ends by itself (clients.py's default if absent)


class OverloadHogRequest(TypedDict):
    type: Literal["overload.hog"]
    node: str
    seconds: int


class OverloadBalloonRequest(TypedDict):
    type: Literal["overload.balloon"]
    node: str
    mb: int
    seconds: int


class OverloadShedRequest(TypedDict):
    type: Literal["overload.shed"]
    node: str
    percent: int


class OverloadDoubleRequest(TypedDict):
    type: Literal["overload.double"]
    limiter: str  # "on" or "off"


class OverloadRestoreRequest(TypedDict):
    type: Literal["overload.restore"]


class OverloadReconnectRequest(TypedDict):
    type: Literal["overload.reconnect"]
    policy: str  # one of core/reconnect.py RECONNECT_POLICIES
    base_ms: NotRequired[int]
    cap_ms: NotRequired[int]


class OverloadShedPolicyRequest(TypedDict):
    type: Literal["overload.shed_policy"]
    policy: str  # one of shedding.SHED_POLICIES


async def flood(user: User, count: object, target: object, seconds: object = None) -> None:
    """The overload clients process holds `count` WebSockets on a node the supervisor runs
    (straight to it, past the balancer) or through the balancer ("lb"), for `seconds`."""
    await require_instructor(user)
    fields = {"count": count, "target": target}
    if seconds is not None:
        fields["seconds"] = seconds
    try:  # the bounds first: a bad count is a 400 whatever the target
        control.parse_clients_command(fields)
    except InvalidCommand as exc:
        raise ControlRefused(str(exc), 400) from None
    if target != "lb":
        try:
            raw = await asyncio.to_thread(shared_client().hget, keys.PROCESSES, target)
        except redis.RedisError:
            raise _unreachable() from None
        if raw is None or json.loads(raw).get("kind") != "node":
            raise ControlRefused(f"target: the supervisor runs no node called {target!r}", 404)
    await send_as(user, {"type": "overload.clients"} | fields)


def _unreachable() -> ControlRefused:
    return ControlRefused("Redis is unreachable: try again when it is back", 503)


def _traffic_now(client: redis.Redis) -> dict | None:
    """The traffic generator's last snapshot, or None while it is not registered."""
    found = registry.registered(client, "traffic")
    if not found:
        return None
    metrics = registry.latest_metrics(client, [found[0].id])
    return metrics[found[0].id].extra if found[0].id in metrics else None


async def double_load(user: User, mode: object) -> float:
    """Twice the offered load, with every node's limiter on or off; returns the new rate.

    The rate doubles from the one before the scenario, so switching the limiter while it runs
    compares the same two loads."""
    await require_instructor(user)
    if mode not in ("on", "off"):
        raise ControlRefused(f"limiter must be 'on' or 'off', not {mode!r}", 400)
    try:
        client = shared_client()
        traffic = await asyncio.to_thread(_traffic_now, client)
        running = await asyncio.to_thread(client.get, overload_keys.DOUBLE)
    except redis.RedisError:
        raise _unreachable() from None
    if traffic is None:
        raise ControlRefused("the traffic generator is not running", 503)
    before = json.loads(running) if running else _before(traffic)
    if before["base_rate"] <= 0:
        raise ControlRefused("the traffic is stopped (rate 0): start it on the LB page first", 409)
    await sync_to_async(limiter.switch_off if mode == "off" else limiter.switch_on)()
    rate = min(MAX_TRAFFIC_RATE, before["base_rate"] * 2)
    fields = {f: traffic.get(f, before.get(f, 0)) for f in _TRAFFIC_FIELDS}
    await send_as(user, {"type": "traffic.set", "rate": rate} | fields)
    run = before | {"limiter": mode, "rate": rate, "started_ms": now_ms()}
    await asyncio.to_thread(client.set, overload_keys.DOUBLE, json.dumps(run))
    detail = {"action": "overload.double", "limiter": mode, "rate": rate, "by": user.get_username()}
    get_emitter().emit("fault.inject", "supervisor", detail=detail)
    return rate


def _before(traffic: dict) -> dict:
    window = traffic.get("window_s") or 1
    return {
        "base_rate": float(traffic.get("rate") or 0),
        "base_goodput": round(traffic.get("ok", 0) / window, 2),
    }


async def restore_load(user: User) -> None:
    """The offered load from before the scenario, and every node's limiter back on."""
    await require_instructor(user)
    try:
        client = shared_client()
        running = await asyncio.to_thread(client.get, overload_keys.DOUBLE)
        traffic = await asyncio.to_thread(_traffic_now, client)
    except redis.RedisError:
        raise _unreachable() from None
    await sync_to_async(limiter.switch_on)()
    if running and traffic is not None:
        before = json.loads(running)
        fields = {f: traffic.get(f, 0) for f in _TRAFFIC_FIELDS}
        await send_as(user, {"type": "traffic.set", "rate": before["base_rate"]} | fields)
    await asyncio.to_thread(client.delete, overload_keys.DOUBLE)
    detail = {"action": "overload.restore", "by": user.get_username()}
    get_emitter().emit("fault.inject", "supervisor", detail=detail)


def _whole(message: dict, field: str) -> int:
    low, high = RECONNECT_BOUNDS[field]
    value = message[field]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ControlRefused(f"{field} must be a whole number from {low} to {high}", 400)
    return value


async def set_reconnect(user: User, message: dict) -> dict:
    """The lab's reconnect policy, for the bots (read each second) and every tab."""
    await require_instructor(user)
    policy = message.get("policy")
    if policy not in RECONNECT_POLICIES:
        raise ControlRefused(
            f"unknown reconnect policy {policy!r}; use one of {', '.join(RECONNECT_POLICIES)}", 400
        )
    fields = {"policy": policy} | {f: _whole(message, f) for f in RECONNECT_BOUNDS if f in message}
    try:
        current = await asyncio.to_thread(shared_client().hgetall, POLICY_KEY)
    except redis.RedisError:
        raise _unreachable() from None
    base = fields.get("base_ms", int(current.get(b"base_ms", 250)))
    if fields.get("cap_ms", int(current.get(b"cap_ms", 8000))) < base:
        raise ControlRefused("cap_ms must be at least base_ms", 400)
    await asyncio.to_thread(shared_client().hset, POLICY_KEY, mapping=fields)
    detail = {"action": "overload.reconnect"} | fields
    get_emitter().emit("fault.inject", "overload clients", detail=detail)
    return fields


async def set_shed_policy(user: User, policy: object) -> None:
    """Every node's shedding policy (the admin's rows; applied live)."""
    await require_instructor(user)
    if policy not in SHED_POLICIES:
        raise ControlRefused(
            f"unknown shedding policy {policy!r}; use one of {', '.join(SHED_POLICIES)}", 400
        )
    await sync_to_async(limiter.set_shed_policy)(policy)
    detail = {"action": "overload.shed_policy", "policy": policy}
    get_emitter().emit("fault.inject", "supervisor", detail=detail)


@socket_handler(OverloadClientsRequest, sets=("overload",))
async def on_clients(user: User, message: OverloadClientsRequest) -> AckFrame:
    await flood(user, message["count"], message["target"], message.get("seconds"))
    return ack("overload.clients")


@socket_handler(OverloadHogRequest, sets=("overload",))
async def on_hog(user: User, message: OverloadHogRequest) -> AckFrame:
    fields = {"node": message["node"], "seconds": message["seconds"]}
    await send_as(user, {"type": "node.hog"} | fields)
    return ack("overload.hog", message["node"])


@socket_handler(OverloadBalloonRequest, sets=("overload",))
async def on_balloon(user: User, message: OverloadBalloonRequest) -> AckFrame:
    fields = {"node": message["node"], "mb": message["mb"], "seconds": message["seconds"]}
    await send_as(user, {"type": "node.balloon"} | fields)
    return ack("overload.balloon", message["node"])


@socket_handler(OverloadShedRequest, sets=("overload",))
async def on_shed(user: User, message: OverloadShedRequest) -> AckFrame:
    fields = {"node": message["node"], "percent": message["percent"]}
    await send_as(user, {"type": "node.shed"} | fields)
    return ack("overload.shed", message["node"])


@socket_handler(OverloadDoubleRequest, sets=("overload", "traffic"))
async def on_double(user: User, message: OverloadDoubleRequest) -> AckFrame:
    await double_load(user, message["limiter"])
    return ack("overload.double")


@socket_handler(OverloadRestoreRequest, sets=("overload", "traffic"))
async def on_restore(user: User, message: OverloadRestoreRequest) -> AckFrame:
    await restore_load(user)
    return ack("overload.restore")


@socket_handler(OverloadReconnectRequest, sets=("overload",))
async def on_reconnect(user: User, message: OverloadReconnectRequest) -> AckFrame:
    await set_reconnect(user, dict(message))
    return ack("overload.reconnect")


@socket_handler(OverloadShedPolicyRequest, sets=("overload",))
async def on_shed_policy(user: User, message: OverloadShedPolicyRequest) -> AckFrame:
    await set_shed_policy(user, message["policy"])
    return ack("overload.shed_policy")
