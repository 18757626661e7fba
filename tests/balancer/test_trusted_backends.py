"""The real balancer routes only to the supervisor's children: a planted registration (the
right key, but a pid, port or host the supervisor's record does not have) gets no request."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from archviz.core import registry
from archviz.core.ports import free_port
from archviz.core.registry import Registration, now_ms
from tests.balancer.conftest import HOST, BalancerLab, get

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def _trap() -> AsyncIterator[list[int]]:
    """A listener that counts the connections it is sent (there should be none)."""
    accepted: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(count, HOST, 0)
    accepted.append(server.sockets[0].getsockname()[1])  # [port, one 1 per connection...]
    try:
        yield accepted
    finally:
        server.close()
        await server.wait_closed()


async def _keep_planted(lab: BalancerLab, registrations: list[Registration]) -> None:
    """Refresh the planted entries as a heartbeat would: no supervisor record is written."""
    while True:
        for registration in registrations:
            registry.register(lab.redis, registration)
        await asyncio.sleep(0.5)


async def test_planted_registrations_get_no_request_and_are_logged_once(
    lone_lab: BalancerLab, echo_backend: str
) -> None:
    """With the supervisor's stand-in routable, planted nodes never join the pool or get a
    connection, and the balancer logs each once."""
    async with _trap() as trap:
        port = trap[0]
        pid = os.getpid()
        planted = [
            Registration(f"planted-{port}", "node", pid, HOST, port, now_ms()),  # no record
            Registration(f"forged-{port}", "node", pid + 1, HOST, port, now_ms()),  # wrong pid
            Registration(f"far-{port}", "node", pid, "192.0.2.7", port, now_ms()),  # wrong host
        ]
        registry.vouch(lone_lab.redis, f"forged-{port}", "node", pid, free_port(HOST))
        registry.vouch(lone_lab.redis, f"far-{port}", "node", pid, port)
        refreshing = asyncio.create_task(_keep_planted(lone_lab, planted))
        try:
            await asyncio.sleep(2.0)  # four refreshes of the balancer's pool
            for _ in range(5):
                status, headers, _ = await asyncio.to_thread(get, lone_lab.url + "/work?ms=0")
                assert status == 200
                assert headers["X-Archviz-Node"] == echo_backend
            assert set(lone_lab.backends()) == {echo_backend}
        finally:
            refreshing.cancel()
            for r in planted:
                registry.deregister(lone_lab.redis, "node", r.id)
        assert trap[1:] == [], "a planted node was sent a connection"
    output = lone_lab.lb.output()
    for r in planted:
        assert output.count(f"ignored the registration of node {r.id} ") == 1, output[-3000:]
