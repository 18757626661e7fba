"""The gateway page's requests on the lab socket, checked on the server: the instructors'
scenarios (bots, kill a replica, a live rate limit, bypass the gateway for the class) and
anyone's side-by-side run of the same five requests through the gateway and around it."""

import asyncio
import re
from typing import Literal, NotRequired, TypedDict

import redis

from archviz.core import keys, labsocket
from archviz.core.instructor import ControlRefused, User, may_control, require_instructor, send_as
from archviz.core.labsocket import AckFrame, ack, socket_handler
from archviz.core.ratelimit import Limit, take_shared
from archviz.core.redis_conn import shared_client
from archviz.gateway import compare
from archviz.gateway import keys as gateway_keys
from archviz.gateway.compare import ProbeFailed
from archviz.gateway.messages import CompareResult, GatewayCompareFrame

KILLABLE = re.compile(r"(gateway|bidding)(-[a-z0-9-]{1,30})?")  # the replicas a scenario kills
# A run sends about 35 requests: one per caller every 10 s, and a few a minute in all.
COMPARE_PER_CALLER = (0.1, 1)
COMPARE_IN_ALL = (0.2, 3)


class GatewayBotsRequest(TypedDict):
    type: Literal["gateway.bots"]
    count: int  # bidding bots to run (0: none)


class GatewayKillRequest(TypedDict):
    type: Literal["gateway.kill"]
    node: str  # a gateway replica or a bidding replica the supervisor runs


class GatewayLimitRequest(TypedDict):
    type: Literal["gateway.limit"]
    policy: str  # a class of routes: token, read, watch, bid, admin
    rate: NotRequired[float]
    burst: NotRequired[int]
    reset: NotRequired[bool]  # back to the default


class GatewayCompareRequest(TypedDict):
    type: Literal["gateway.compare"]
    for_class: NotRequired[bool]  # instructors: every page shows the result


async def set_bots(user: User, count: object) -> None:
    await send_as(user, {"type": "gateway.bots", "count": count})


async def kill_replica(user: User, node: object) -> None:
    """SIGKILL a gateway or bidding replica: the supervisor's own node.kill, for its child."""
    await require_instructor(user)
    if not isinstance(node, str) or not KILLABLE.fullmatch(node):
        raise ControlRefused(f"only a gateway or bidding replica is killed here, not {node!r}", 400)
    if not await asyncio.to_thread(shared_client().hexists, keys.PROCESSES, node):
        raise ControlRefused(f"the supervisor runs no {node}", 404)
    await send_as(user, {"type": "node.kill", "node": node})


async def set_limit(user: User, message: GatewayLimitRequest) -> None:
    """A live rate-limit policy on every gateway replica (the gateway.limit command)."""
    fields = {"type": "gateway.limit", "policy": message["policy"],
              "reset": bool(message.get("reset", False))}  # fmt: skip
    if not fields["reset"]:
        fields |= {"rate": message.get("rate"), "burst": message.get("burst")}
    await send_as(user, fields)


def _compare_limits(user: User, caller: labsocket.Caller) -> list[Limit]:
    own = f"user:{user.get_username()}" if user.is_authenticated else f"socket:{caller.socket}"
    bucket = gateway_keys.PREFIX + "compare:limit:"
    return [Limit(bucket + own, *COMPARE_PER_CALLER), Limit(bucket + "all", *COMPARE_IN_ALL)]


async def run_compare(user: User, for_class: bool) -> CompareResult:
    """Anyone may run the comparison (rate-limited); an instructor's, for the class, is kept
    in Redis for every page to show."""
    instructor = await may_control(user)
    if for_class and not instructor:
        raise ControlRefused("only instructors (permission control_lab) run it for the class", 403)
    client = shared_client()
    refusal = await asyncio.to_thread(
        take_shared, client, _compare_limits(user, labsocket.caller())
    )
    if refusal is not None:
        raise ControlRefused(f"one run at a time: try again in {refusal.retry_after_s:.0f} s", 429)
    by = user.get_username() if user.is_authenticated else "a learner"
    try:
        result = await compare.run(shared_client, by)
    except ProbeFailed as exc:
        raise ControlRefused(str(exc), 503) from None
    except redis.RedisError:
        raise ControlRefused("Redis is unreachable: the comparison cannot run now", 503) from None
    if for_class:
        try:
            result = await asyncio.to_thread(compare.keep_for_class, client, result)
        except redis.RedisError:
            raise ControlRefused("Redis is unreachable: the run was not kept", 503) from None
    return result


@socket_handler(GatewayBotsRequest, sets=("gateway",))
async def on_bots(user: User, message: GatewayBotsRequest) -> AckFrame:
    await set_bots(user, message["count"])
    return ack("gateway.bots")


@socket_handler(GatewayKillRequest, sets=("gateway",))
async def on_kill(user: User, message: GatewayKillRequest) -> AckFrame:
    await kill_replica(user, message["node"])
    return ack("gateway.kill", message["node"])


@socket_handler(GatewayLimitRequest, sets=("gateway",))
async def on_limit(user: User, message: GatewayLimitRequest) -> AckFrame:
    await set_limit(user, message)
    return ack("gateway.limit")


@socket_handler(GatewayCompareRequest)
async def on_compare(user: User, message: GatewayCompareRequest) -> GatewayCompareFrame:
    result = await run_compare(user, bool(message.get("for_class", False)))
    return GatewayCompareFrame(type="gateway_compare", result=result)
