"""The dashboard's ping goes only to a node the supervisor started, not to a planted entry."""

import asyncio
import os

import pytest
import redis
from django.contrib.auth.models import AnonymousUser

from archviz.core import registry
from archviz.core.instructor import ControlRefused
from archviz.core.registry import Registration, now_ms
from archviz.dashboard.socket import ping


async def test_a_planted_node_is_not_up_and_gets_no_request(
    redis_client: redis.Redis, dashboard_emitter
) -> None:
    """node-7 registered by someone, pointing at a listening port: refused, never connected to."""
    connections: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        planted = Registration("node-7", "node", os.getpid(), "127.0.0.1", port, now_ms())
        registry.register(redis_client, planted)
        registry.vouch(redis_client, "node-7", "node", os.getpid(), port + 1)  # another port
        with pytest.raises(ControlRefused, match="node-7 is not up"):
            await ping(AnonymousUser(), {"type": "ping", "node": "node-7"})
    finally:
        server.close()
        await server.wait_closed()
    assert connections == []
