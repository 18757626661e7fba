"""The overload clients against a real WebSocket server in this process that plays a node
by the contract of issue 12: a hello, then a shed (4014) or a refusal (4013) with a hint."""

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from archviz.core.reconnect import ReconnectPolicy
from archviz.overload.clients import ClientFleet
from archviz.overload.reconnect import REFUSED, SHED
from tests.harness.wait_for import async_wait_for

HINT_MS = 50


class StandInNode:
    """Sheds the first connection, refuses the second, holds every later one."""

    def __init__(self) -> None:
        self.connections = 0
        self.paths: list[str] = []

    async def hold(self, request: web.Request) -> web.WebSocketResponse:
        self.connections += 1
        self.paths.append(request.path_qs)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if self.connections == 2:  # refused at the handshake: no hello
            await ws.send_str(json.dumps({"type": "overloaded", "retry_after_ms": HINT_MS}))
            await ws.close(code=REFUSED)
            return ws
        await ws.send_str(json.dumps({"type": "hello", "node": "node-9"}))
        if self.connections == 1:
            await ws.send_str(json.dumps({"type": "shed", "retry_after_ms": HINT_MS}))
            await ws.close(code=SHED)
            return ws
        async for _message in ws:
            pass
        return ws


@pytest.fixture
async def node_url() -> AsyncIterator[tuple[str, StandInNode]]:
    node = StandInNode()
    app = web.Application()
    app.router.add_get("/ws/hold/", node.hold)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", node
    await runner.cleanup()


async def test_a_shed_and_a_refused_client_come_back_and_are_counted(node_url) -> None:
    """Shed, then refused, then held: each close counted by its code, each followed by a
    reconnect, and the client ends open on the node its hello named."""
    url, node = node_url
    fleet = ClientFleet(lambda target: url if target == "node-9" else None, seed=1)
    fleet.policy = ReconnectPolicy("fixed", base_ms=10, cap_ms=10)  # the hint, 50 ms, floors it
    try:
        fleet.apply(1, "node-9", 60)
        view = await async_wait_for(fleet.snapshot, "the client held after a shed and a refusal",
                                    until=lambda v: v["open"] == 1)  # fmt: skip
        assert (view["shed_total"], view["refused_total"], view["reconnects_total"]) == (1, 1, 2)
        assert view["nodes"] == {"node-9": 1}
        assert view["handshakes_total"] == 3 == node.connections
        assert node.paths[0] == "/ws/hold/?client=bot"
    finally:
        await fleet.close()


async def test_count_zero_closes_the_clients(node_url) -> None:
    """Three clients held, then none: the node sees every socket close."""
    url, node = node_url
    node.connections = 2  # past the shed and the refusal: every client is held
    fleet = ClientFleet(lambda target: url, seed=2)
    try:
        fleet.apply(3, "lb", 60)
        await async_wait_for(fleet.snapshot, "3 open", until=lambda v: v["open"] == 3)
        fleet.apply(0, "lb", 60)
        view = fleet.snapshot()
        assert (view["wanted"], view["open"], view["seconds_left"]) == (0, 0, None)
    finally:
        await fleet.close()


async def test_a_target_that_refuses_tcp_is_retried_not_fatal() -> None:
    """Nothing listens at the target: connects fail, are counted, and the clients keep trying."""
    fleet = ClientFleet(lambda target: "http://127.0.0.1:1", seed=3)
    fleet.policy = ReconnectPolicy("fixed", base_ms=20, cap_ms=20)
    try:
        fleet.apply(2, "lb", 60)
        view = await async_wait_for(fleet.snapshot, "failed connects retried",
                                    until=lambda v: v["failed_connects_total"] >= 4)  # fmt: skip
        assert (view["open"], view["handshakes_total"], view["dropped_total"]) == (0, 0, 0)
        assert view["reconnects_total"] >= 2
        assert "127.0.0.1:1" in view["last_error"]
    finally:
        await fleet.close()


async def test_an_unknown_target_waits_without_connecting() -> None:
    """A node that is not registered: the clients look for it again and again, and connect
    nowhere meanwhile."""
    looked: list[str] = []
    fleet = ClientFleet(lambda target: looked.append(target), seed=4)
    try:
        fleet.apply(2, "node-7", 60)
        await async_wait_for(lambda: len(looked), "two looks each", until=lambda n: n >= 4)
        view = fleet.snapshot()
        assert (view["wanted"], view["target"], view["waiting"]) == (2, "node-7", 2)
        assert (view["handshakes_total"], view["failed_connects_total"]) == (0, 0)
        assert set(looked) == {"node-7"}
    finally:
        await fleet.close()
