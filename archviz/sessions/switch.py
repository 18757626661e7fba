"""The dashboard's side of the demo: an instructor switches the session mode (server-checked)."""

import asyncio

import redis

from archviz.core.instructor import ControlRefused, User, require_instructor, send_as
from archviz.core.redis_conn import shared_client
from archviz.sessions import keys as sessions_keys
from archviz.sessions.modes import DEFAULT_MODE, MODES, InvalidMode, parse_mode, stored_mode


async def switch_mode(user: User, mode: object) -> None:
    """Keep the new mode in Redis, tell the nodes, and give the LB the algorithm it needs."""
    await require_instructor(user)
    try:
        name = parse_mode(mode)
    except InvalidMode as exc:
        raise ControlRefused(str(exc), 400) from None
    try:  # stored first: a node that misses the command reads it on its next heartbeat
        await asyncio.to_thread(shared_client().set, sessions_keys.MODE, name)
    except redis.RedisError as exc:
        reason = f"Redis is unreachable, the mode was not changed: {exc}"
        raise ControlRefused(reason, 503) from None
    await send_as(user, {"type": "session.mode", "mode": name})
    await send_as(user, {"type": "lb.algorithm", "algorithm": MODES[name].algorithm})


def current_mode(client: redis.Redis) -> str:
    """The stored mode; the default when Redis cannot say."""
    try:
        return stored_mode(client.get(sessions_keys.MODE))
    except redis.RedisError:
        return DEFAULT_MODE
