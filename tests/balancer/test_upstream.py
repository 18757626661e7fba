"""The balancer's client to the nodes, against real sockets that answer in chosen ways."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from archviz.balancer import upstream
from archviz.balancer.upstream import (
    BrokenResponse,
    ConnectFailed,
    Disconnected,
    UpstreamPool,
)
from archviz.core.ports import free_port
from tests.harness.wait_for import async_wait_for

Answer = Callable[[bytes], Awaitable[bytes | None]]


class ScriptedNode:
    """A TCP server that reads each request and writes what `answer` makes of it; None
    closes the connection instead, and so does every reply when `close_after_reply`. It
    records the requests and counts connections."""

    def __init__(self, answer: Answer, close_after_reply: bool = False) -> None:
        self.answer = answer
        self.close_after_reply = close_after_reply
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = _content_length(head)
                request = head + (await reader.readexactly(length) if length else b"")
                self.requests.append(request)
                reply = await self.answer(request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if self.close_after_reply:
                    break
        writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.fixture
async def node_with() -> AsyncIterator[Callable[[Answer], Awaitable[ScriptedNode]]]:
    nodes: list[ScriptedNode] = []

    async def start(answer: Answer, close_after_reply: bool = False) -> ScriptedNode:
        node = ScriptedNode(answer, close_after_reply)
        node.server = await asyncio.start_server(node._serve, "127.0.0.1", 0)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.server.close()


def reply(body: bytes, *headers: str, status: str = "200 OK") -> Answer:
    async def answer(_request: bytes) -> bytes:
        head = "".join(f"{h}\r\n" for h in headers)
        return f"HTTP/1.1 {status}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    return answer


async def test_an_answer_with_a_length_is_read_and_the_connection_reused(node_with) -> None:
    """Two requests in turn travel over one kept-alive connection."""
    node = await node_with(reply(b"hello", "Content-Type: text/plain; charset=utf-8"))
    pool = UpstreamPool(timeout_s=5)
    for _ in range(2):
        response = await pool.request(node.address, "GET", "/a?b=1", [("X-Test", "yes")])
        assert (response.status, await response.read()) == (200, b"hello")
        assert response.content_type == "text/plain" and response.content_length == 5
    assert node.connections == 1 and pool.idle_connections(node.address) == 1
    first = node.requests[0].decode()
    assert first.startswith("GET /a?b=1 HTTP/1.1\r\n")
    assert f"Host: {node.address}\r\n" in first and "X-Test: yes\r\n" in first
    pool.close()


async def test_a_request_body_is_sent_with_its_length(node_with) -> None:
    """The node receives the body whole, announced by Content-Length."""
    node = await node_with(reply(b"{}"))
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "POST", "/cart/", [], b'{"apple": 2}')
    await response.read()
    assert node.requests[0].endswith(b'Content-Length: 12\r\n\r\n{"apple": 2}')
    pool.close()


async def test_repeated_headers_such_as_set_cookie_are_all_kept(node_with) -> None:
    node = await node_with(reply(b"", "Set-Cookie: a=1", "Set-Cookie: b=2"))
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "GET", "/", [])
    assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    pool.close()


async def test_a_chunked_answer_arrives_whole_and_in_pieces(node_with) -> None:
    """Chunked bodies are decoded; `iter_chunks` hands them over as they come."""

    async def chunked(_request: bytes) -> bytes:
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"

    node = await node_with(chunked)
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "GET", "/", [])
    assert response.content_length is None
    assert b"".join([chunk async for chunk in response.iter_chunks()]) == b"abcde"
    response = await pool.request(node.address, "GET", "/", [])
    assert await response.read() == b"abcde"
    assert node.connections == 1
    pool.close()


async def test_an_answer_ended_by_the_close_is_complete(node_with) -> None:
    """No length and no chunks: the body runs until the node closes, and is not reused."""

    async def until_close(_request: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"

    node = await node_with(until_close, close_after_reply=True)
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "GET", "/", [])
    assert await response.read() == b"all of it"
    assert pool.idle_connections(node.address) == 0
    pool.close()


async def test_a_head_answer_has_no_body_even_with_a_length(node_with) -> None:
    """The next request on the same connection is not mistaken for the HEAD's body."""

    async def head_aware(request: bytes) -> bytes:
        if request.startswith(b"HEAD"):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        return await reply(b"12345")(request)

    node = await node_with(head_aware)
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "HEAD", "/", [])
    assert (response.status, await response.read()) == (200, b"")
    response = await pool.request(node.address, "GET", "/", [])
    assert await response.read() == b"12345"
    assert node.connections == 1
    pool.close()


async def test_an_informational_answer_is_skipped(node_with) -> None:
    async def with_continue(request: bytes) -> bytes:
        return b"HTTP/1.1 100 Continue\r\n\r\n" + await reply(b"done")(request)

    node = await node_with(with_continue)
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "PUT", "/", [], b"x")
    assert (response.status, await response.read()) == (200, b"done")
    pool.close()


async def test_a_refused_connection_is_connect_failed() -> None:
    pool = UpstreamPool(timeout_s=5)
    with pytest.raises(ConnectFailed, match="cannot connect"):
        await pool.request(f"127.0.0.1:{free_port('127.0.0.1')}", "GET", "/", [])


async def test_a_close_before_answering_is_disconnected(node_with) -> None:
    """What a pooled connection to a restarted node looks like: safe to retry elsewhere."""

    async def hang_up(_request: bytes) -> None:
        return None

    node = await node_with(hang_up)
    pool = UpstreamPool(timeout_s=5)
    with pytest.raises(Disconnected, match="before answering"):
        await pool.request(node.address, "GET", "/", [])
    assert pool.idle_connections(node.address) == 0


async def test_a_body_cut_short_is_a_broken_response(node_with) -> None:

    async def cut_short(_request: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"

    node = await node_with(cut_short, close_after_reply=True)
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "GET", "/", [])
    with pytest.raises(BrokenResponse, match="middle of its answer"):
        await response.read()


async def test_garbage_instead_of_http_is_a_broken_response(node_with) -> None:
    async def garbage(_request: bytes) -> bytes:
        return b"SSH-2.0-OpenSSH\r\n\r\n"

    node = await node_with(garbage)
    pool = UpstreamPool(timeout_s=5)
    with pytest.raises(BrokenResponse, match="could not be parsed"):
        await pool.request(node.address, "GET", "/", [])


async def test_a_node_slower_than_the_deadline_times_out(node_with) -> None:
    async def slow(request: bytes) -> bytes:
        await asyncio.sleep(5)
        return await reply(b"late")(request)

    node = await node_with(slow)
    pool = UpstreamPool(timeout_s=0.2)
    with pytest.raises(TimeoutError):
        await pool.request(node.address, "GET", "/", [])
    assert pool.idle_connections(node.address) == 0


async def test_a_large_body_pauses_the_node_until_it_is_read(node_with) -> None:
    """Flow control: the unread body stays bounded, and all of it arrives."""
    size = 4 * upstream.PAUSE_ABOVE
    node = await node_with(reply(b"x" * size))
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "GET", "/big", [])
    # the node writes until the client pauses its connection: the body no longer comes in
    await async_wait_for(lambda: response.buffered > upstream.PAUSE_ABOVE, "the client to pause")
    assert response.buffered <= upstream.PAUSE_ABOVE + 256 * 1024
    received = 0
    async for chunk in response.iter_chunks():
        received += len(chunk)
    assert received == size
    response = await pool.request(node.address, "GET", "/big", [])  # the connection reads again
    assert len(await response.read()) == size
    pool.close()


async def test_releasing_an_unread_body_closes_the_connection(node_with) -> None:
    node = await node_with(reply(b"x" * (4 * upstream.PAUSE_ABOVE)))
    pool = UpstreamPool(timeout_s=5)
    response = await pool.request(node.address, "GET", "/big", [])
    response.release()
    response = await pool.request(node.address, "GET", "/big", [])
    assert len(await response.read()) == 4 * upstream.PAUSE_ABOVE
    assert node.connections == 2
    pool.close()
