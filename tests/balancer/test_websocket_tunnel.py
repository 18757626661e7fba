"""WebSockets through the balancer's own server and proxy, in this process: the handshake goes
to a real aiohttp WebSocket server standing in for a node, and after its 101 the two
connections are spliced byte for byte (tunnel.py). The real-process tests are in
test_proxy.py and test_gateway_listener.py."""

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from archviz.balancer.backends import BackendPool
from archviz.balancer.listener import Server
from archviz.balancer.proxy import Proxy
from archviz.balancer.request import Request
from archviz.balancer.server import ClientConnection
from archviz.balancer.tunnel import WRITE_HIGH_WATER
from archviz.balancer.websocket import proxy_websocket
from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.core.registry import Registration
from archviz.trace.emitter import Emitter
from archviz.trace.events import TRACE_LOG
from tests.harness.wait_for import async_wait_for

HOST = "127.0.0.1"
SOURCE = "lb-tunnel-test"  # this file's route events only: other tests' emitters share the Redis
FLOOD_FRAME = 64 * 1024
FLOOD_FRAMES = 128  # 8 MiB in all
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


@dataclass
class StandInNode:
    """An aiohttp WebSocket server as one node: what it saw of each socket."""

    node_id: str
    handshakes: list[dict[str, str]] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    port: int = 0
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws/{how}", self.socket)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, HOST, 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def socket(self, request: web.Request) -> web.StreamResponse:
        self.handshakes.append(dict(request.headers))
        how = request.match_info["how"]
        if how == "refuse":
            return web.json_response({"error": "not here"}, status=403)
        ws = web.WebSocketResponse(protocols=("chat",))
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"node": self.node_id})
        if how == "close4013":
            await ws.close(code=4013)
        elif how == "flood":
            for _ in range(FLOOD_FRAMES):
                await ws.send_bytes(b"x" * FLOOD_FRAME)
            await ws.close(code=1000)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(f"echo: {message.data}")
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        self.close_codes.append(ws.close_code)
        return ws


@dataclass
class Balancer:
    server: Server
    proxy: Proxy
    port: int
    nodes: dict[str, StandInNode]
    emitter: Emitter
    redis_url: str

    def url(self, how: str) -> str:
        return f"ws://{HOST}:{self.port}/ws/{how}"

    def routes(self) -> list[dict]:
        """The lb.route events the proxy made so far."""
        self.emitter.flush()
        client = sync_client(self.redis_url)
        return [
            event
            for _, entry in client.xrange(TRACE_LOG)
            for event in json.loads(entry[b"batch"])
            if event["kind"] == "lb.route" and event["src"] == SOURCE
        ]


async def _balancer(node_ports: dict[str, int], redis_url: str) -> tuple[Server, Proxy, Emitter]:
    pool = BackendPool()
    pool.update(
        (Registration(node, "node", os.getpid(), HOST, port, 1), 1)
        for node, port in node_ports.items()
    )
    emitter = Emitter("lb", client_factory=lambda: sync_client(redis_url))
    proxy = Proxy(pool, emitter, source=SOURCE, backend_timeout_s=5)

    async def upgrade(request: Request, client: ClientConnection, early: bytes) -> None:
        await proxy_websocket(proxy, request, client, proxy.arrived(request), early)

    async def no_http(request: Request, client: ClientConnection) -> None:
        client.respond(404, [], b"")

    return Server(no_http, upgrade, idle_timeout_s=5), proxy, emitter


@pytest.fixture
async def balancer(redis_url: str) -> AsyncIterator[Balancer]:
    node = StandInNode("node-1")
    await node.start()
    server, proxy, emitter = await _balancer({"node-1": node.port}, redis_url)
    port = await server.listen(HOST, 0)
    yield Balancer(server, proxy, port, {"node-1": node}, emitter, redis_url)
    await server.shutdown(0.5)
    await node.runner.cleanup()


async def test_messages_and_the_clients_close_code_pass_through(balancer: Balancer) -> None:
    """Text and binary both ways, the subprotocol, then the client's own close code."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(balancer.url("echo"), protocols=("chat",)) as ws,
    ):
        assert await ws.receive_json(timeout=5) == {"node": "node-1"}
        assert ws.protocol == "chat"
        await ws.send_str("hello")
        assert await ws.receive_str(timeout=5) == "echo: hello"
        await ws.send_bytes(b"\x00\x01\x02")
        assert await ws.receive_bytes(timeout=5) == b"\x02\x01\x00"
        await async_wait_for(lambda: balancer.proxy.pool.snapshot(0)[0]["websockets"], "counted")
        await ws.close(code=4000)
    node = balancer.nodes["node-1"]
    await async_wait_for(lambda: node.close_codes, "the node's side closed")
    assert node.close_codes == [4000]
    await async_wait_for(lambda: not balancer.server.tunnels, "the tunnel gone")
    await async_wait_for(
        lambda: balancer.proxy.pool.snapshot(0)[0]["websockets"] == 0, "no longer counted"
    )
    [route] = balancer.routes()
    assert (route["dst"], route["detail"]["status"], route["detail"]["outcome"]) == (
        "node-1",
        101,
        "ok",
    )


async def test_the_nodes_close_code_reaches_the_client(balancer: Balancer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(balancer.url("close4013")) as ws,
    ):
        assert await ws.receive_json(timeout=5) == {"node": "node-1"}
        message = await ws.receive(timeout=5)
    assert (message.type, ws.close_code) == (WSMsgType.CLOSE, 4013)


async def test_the_handshake_reaches_the_node_with_forwarding_and_no_deflate_offer(
    balancer: Balancer,
) -> None:
    """The browser's deflate offer is not passed on (websocket.NO_COMPRESSION)."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(balancer.url("echo"), compress=15, origin="http://lab.example") as ws,
    ):
        assert await ws.receive_json(timeout=5) == {"node": "node-1"}
        assert ws.compress == 0
    [seen] = balancer.nodes["node-1"].handshakes
    assert "Sec-WebSocket-Extensions" not in seen
    assert seen["Origin"] == "http://lab.example"
    assert seen["X-Forwarded-For"] == HOST
    assert (seen["Upgrade"], seen["Connection"]) == ("websocket", "Upgrade")


async def _raw_handshake(port: int, head: bytes) -> tuple[bytes, bytes]:
    """The answer's head and what followed it, to a handshake sent by hand."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(head)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        after = await asyncio.wait_for(reader.read(65536), 5)
        return answer, after
    finally:
        writer.close()


def _handshake(path: str, key: str, *, version: str = "13") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: lab\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    ).encode()


async def test_the_101_is_the_nodes_marked_with_the_node_and_its_frames_follow_unchanged(
    balancer: Balancer,
) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    head, after = await _raw_handshake(balancer.port, _handshake("/ws/echo", key))
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 101 Switching Protocols"
    headers = {
        name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])
    }
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    assert headers["sec-websocket-accept"] == accept
    assert headers["x-archviz-node"] == "node-1"
    hello = json.dumps({"node": "node-1"}).encode()
    assert after == bytes((0x81, len(hello))) + hello  # one text frame, as the node wrote it


@pytest.mark.parametrize(
    ("handshake", "problem"),
    [
        (_handshake("/ws/echo", "not-a-key"), "Sec-WebSocket-Key is not 16 bytes in base64"),
        (
            _handshake("/ws/echo", base64.b64encode(b"k" * 16).decode(), version="8"),
            "Sec-WebSocket-Version must be 13",
        ),
    ],
)
async def test_a_bad_handshake_is_refused_and_reaches_no_node(
    balancer: Balancer, handshake: bytes, problem: str
) -> None:
    head, body = await _raw_handshake(balancer.port, handshake)
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body) == {"error": f"not a valid WebSocket handshake: {problem}"}
    assert balancer.nodes["node-1"].handshakes == []


async def test_a_refusal_is_the_nodes_status_and_names_the_node(balancer: Balancer) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    head, body = await _raw_handshake(balancer.port, _handshake("/ws/refuse", key))
    assert head.startswith(b"HTTP/1.1 403 ")
    assert b"\r\nX-Archviz-Node: node-1\r\n" in head
    assert json.loads(body) == {"error": "node-1 refused the WebSocket with 403"}
    assert not balancer.server.tunnels


async def test_a_node_that_refuses_connections_costs_one_retry(redis_url: str) -> None:
    """node-1's port has nobody listening: the WebSocket is opened on node-2."""
    node = StandInNode("node-2")
    await node.start()
    server, proxy, _ = await _balancer({"node-1": free_port(HOST), "node-2": node.port}, redis_url)
    port = await server.listen(HOST, 0)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://{HOST}:{port}/ws/echo") as ws,
        ):
            assert await ws.receive_json(timeout=5) == {"node": "node-2"}
        assert proxy.retried_total == 1
    finally:
        await server.shutdown(0.5)
        await node.runner.cleanup()


async def test_shutdown_tells_both_sides_the_balancer_is_going_away(balancer: Balancer) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(balancer.url("echo")) as ws:
        assert await ws.receive_json(timeout=5) == {"node": "node-1"}
        await balancer.server.shutdown(2)
        message = await ws.receive(timeout=5)
        assert (message.type, ws.close_code) == (WSMsgType.CLOSE, 1001)
    node = balancer.nodes["node-1"]
    await async_wait_for(lambda: node.close_codes, "the node's side closed")
    assert node.close_codes == [1001]
    assert not balancer.server.tunnels


async def test_a_client_that_stops_reading_is_not_buffered_in_the_balancer(
    balancer: Balancer,
) -> None:
    """The balancer stops reading the node while the client's side is backed up, so it holds
    at most about its high-water mark (the rest waits in the sockets and the node); once the
    client reads, every byte arrives."""
    async with aiohttp.ClientSession() as session, session.ws_connect(balancer.url("flood")) as ws:
        [tunnel] = await async_wait_for(lambda: list(balancer.server.tunnels), "the tunnel")
        node_side = await async_wait_for(lambda: tunnel.node.transport, "the node's side")
        await async_wait_for(lambda: not node_side.is_reading(), "the node's side paused")
        held = tunnel.client.transport.get_write_buffer_size()
        assert held <= WRITE_HIGH_WATER + 256 * 1024  # the mark, and at most one read past it
        assert await ws.receive_json(timeout=5) == {"node": "node-1"}
        received = 0
        async for message in ws:
            assert message.type == WSMsgType.BINARY and len(message.data) == FLOOD_FRAME
            received += len(message.data)
        assert (received, ws.close_code) == (FLOOD_FRAME * FLOOD_FRAMES, 1000)
