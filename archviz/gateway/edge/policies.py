"""A replica's live rate-limit policies (limits.py): re-read from Redis every FOLLOW_S off
the loop, so a request never waits on it, and a change an instructor made applies here
within a second. Each change this replica sees is a `gateway.policy` trace event, so the
page shows when each replica took it; while Redis is away the last policies hold.

The `gateway.limit` control command is carried out here too: every replica writes the same
override (idempotent), so it applies while one replica is down.
"""

import asyncio
import contextlib
import logging

import redis

from archviz.gateway import limits
from archviz.gateway.control import GatewayLimitCommand
from archviz.gateway.edge.state import DEMO, Gateway
from archviz.gateway.limits import Policy
from archviz.gateway.routes import RateClass

log = logging.getLogger(__name__)


def changes(
    before: dict[RateClass, Policy], after: dict[RateClass, Policy]
) -> list[tuple[Policy, Policy]]:
    """(was, is) for each class whose policy changed (pure)."""
    return [(before[name], policy) for name, policy in after.items() if before.get(name) != policy]


async def refresh(gateway: Gateway) -> None:
    """Read the policies in force; trace each that changed."""
    try:
        found = await gateway.in_thread(limits.read_policies)
    except redis.RedisError as exc:
        log.debug("gateway: cannot read the rate limit policies (keeping the last): %s", exc)
        return
    for was, now in changes(gateway.policies, found):
        gateway.trace.emit(
            "gateway.policy",
            gateway.replica,
            demo=DEMO,
            detail={
                "policy": now.name,
                "rate": now.rate,
                "burst": now.burst,
                "from": {"rate": was.rate, "burst": was.burst},
                "default": now == limits.POLICIES[now.name],
            },
        )
    gateway.policies = found


async def follow(gateway: Gateway, stop: asyncio.Event, interval_s: float = limits.FOLLOW_S):
    """Refresh every `interval_s` until `stop` is set."""
    while not stop.is_set():
        await refresh(gateway)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval_s):
                await stop.wait()


def carry_out(client: redis.Redis, command: GatewayLimitCommand) -> None:
    """Write what a `gateway.limit` command asks (blocking: run it off the loop)."""
    if command["reset"]:
        limits.reset_policies(client, command["policy"])
    else:
        limits.set_policy(client, command["policy"], command["rate"], command["burst"])
