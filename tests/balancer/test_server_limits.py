"""The balancer's HTTP server keeps each client within bounds: answers a client does not read,
request bodies it holds, and connections open at once (in this process, on real sockets)."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from archviz.balancer import server as server_module
from archviz.balancer.listener import Server
from archviz.balancer.request import MAX_BODY_BYTES, Request
from archviz.balancer.server import ClientConnection
from tests.harness.wait_for import async_wait_for

HOST = "127.0.0.1"
BIG_ANSWER = b"x" * (1024 * 1024)
READ_CHUNK = 256 * 1024  # the most one read hands the parser (asyncio's and uvloop's)


class Handler:
    """Answers 1 MiB to /big and the body's length to anything else; `hold` keeps answers
    waiting until it is set."""

    def __init__(self) -> None:
        self.answered: list[str] = []
        self.hold = asyncio.Event()
        self.hold.set()

    async def __call__(self, request: Request, client: ClientConnection) -> None:
        await self.hold.wait()
        self.answered.append(request.raw_path)
        body = BIG_ANSWER if request.raw_path == "/big" else b"%d" % len(request.body)
        client.respond(200, [("Content-Type", "text/plain")], body)


async def _no_websockets(request: Request, client: ClientConnection, early: bytes) -> None:
    client.respond(400, [], b"")


@pytest.fixture
async def handler() -> Handler:
    return Handler()


@pytest.fixture
async def server(handler: Handler) -> AsyncIterator[Server]:
    server = Server(handler, _no_websockets, idle_timeout_s=5, max_connections=3)
    server.port = await server.listen(HOST, 0)
    yield server
    await server.shutdown(0.5)


def _only_connection(server: Server) -> ClientConnection:
    [connection] = server.connections
    return connection


async def test_a_client_that_never_reads_is_not_answered_without_limit(
    server: Server, handler: Handler
) -> None:
    """Pipelined requests whose answers are never read stop being read and answered once
    the unread answers pass the high-water mark: memory stays bounded."""
    _reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n" * 64)
    try:
        connection = await async_wait_for(lambda: server.connections and _only_connection(server),
                                      "the connection")  # fmt: skip
        stalled = await async_wait_for(
            lambda: connection.reading_paused and connection.waiting_for_client,
            "the server to stop for the unread answers",
        )
        assert stalled
        assert connection.unsent_bytes <= server_module.WRITE_HIGH_WATER + len(BIG_ANSWER)
        assert len(handler.answered) < 64
    finally:
        writer.close()


async def test_a_client_that_takes_none_of_its_answers_is_cut_off_after_the_idle_timeout(
    handler: Handler,
) -> None:
    """A connection stalled on unread answers does not hold its buffers for ever."""
    server = Server(handler, _no_websockets, idle_timeout_s=0.5)
    port = await server.listen(HOST, 0)
    _reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n" * 64)
        await async_wait_for(lambda: server.connections, "the connection")
        await async_wait_for(lambda: not server.connections, "the stalled client cut off")
        assert len(handler.answered) < 64
    finally:
        writer.close()
        await server.shutdown(0.5)


async def test_the_request_bodies_one_connection_holds_are_capped(
    server: Server, handler: Handler
) -> None:
    """While an answer is pending, pipelined uploads are read only up to the cap; then all are
    answered in order once the handler goes on."""
    handler.hold.clear()
    upload = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % MAX_BODY_BYTES
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write((upload + b"u" * MAX_BODY_BYTES) * 6)
    try:
        connection = await async_wait_for(lambda: server.connections and _only_connection(server),
                                      "the connection")  # fmt: skip
        await async_wait_for(lambda: connection.reading_paused, "reading paused")
        assert connection.held_body_bytes <= server_module.MAX_HELD_BODY_BYTES + READ_CHUNK
        handler.hold.set()
        answers = b""
        while answers.count(b"HTTP/1.1 200") < 6 or not answers.endswith(b"%d" % MAX_BODY_BYTES):
            answers += await asyncio.wait_for(reader.read(65536), 5)
        assert answers.count(b"\r\n\r\n%d" % MAX_BODY_BYTES) == 6
    finally:
        writer.close()


async def _get(port: int) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(b"GET /hi HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_connections_past_the_cap_get_503_and_are_counted(server: Server) -> None:
    """With three connections open a fourth is answered 503 by the balancer itself and
    closed; once one closes, a new connection is served again."""
    held = [await asyncio.open_connection(HOST, server.port) for _ in range(3)]
    await async_wait_for(lambda: len(server.connections) == 3, "three connections open")
    refused = await _get(server.port)
    head = refused.partition(b"\r\n\r\n")[0]
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable")
    assert b"X-Archviz-Node: none" in head and b"Connection: close" in head
    assert b"too many connections" in refused
    assert server.refused_connections == 1
    held.pop()[1].close()
    await async_wait_for(lambda: len(server.connections) == 2, "a connection closed")
    assert (await _get(server.port)).startswith(b"HTTP/1.1 200 OK")
    for _, writer in held:
        writer.close()
