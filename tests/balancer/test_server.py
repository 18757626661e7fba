"""The balancer's HTTP server, in this process, with handlers that answer in chosen ways."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from archviz.balancer import server as server_module
from archviz.balancer.listener import Server
from archviz.balancer.request import Request
from archviz.balancer.server import ClientConnection
from archviz.balancer.tunnel import Tunnel

HOST = "127.0.0.1"


async def _echo(request: Request, client: ClientConnection) -> None:
    """Answers with what it received; /stream answers in pieces, /empty streams a 204 (as a
    proxied CORS preflight's answer, which has no length), /boom fails."""
    if request.raw_path == "/boom":
        raise RuntimeError("a bug in the handler")
    if request.raw_path == "/empty":
        client.start_response(204, [("Vary", "Origin")], None)
        await client.send(b"")
        client.end_response()
        return
    if request.raw_path.startswith("/stream"):
        client.start_response(200, [("Content-Type", "text/plain")], None)
        for piece in (b"one ", b"two ", b"three"):
            await client.send(piece)
        client.end_response()
        return
    seen = {
        "method": request.method,
        "path": request.path,
        "body": request.body.decode(),
        "version": request.version,
        "host": request.host,
        "remote": request.remote,
    }
    client.respond(200, [("Content-Type", "application/json")], json.dumps(seen).encode(), length=7)


async def _echo_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data.upper())
    writer.close()


async def _upgrade(request: Request, client: ClientConnection, early: bytes) -> None:
    """/refuse is answered 426; any other upgrade becomes a tunnel to a TCP server that
    echoes in capitals (no WebSocket needed at this layer)."""
    if request.raw_path == "/refuse":
        client.respond(426, [("Upgrade", "websocket")], b"no\n")
        return
    echo = await asyncio.start_server(_echo_server, HOST, 0)
    loop = asyncio.get_running_loop()
    node, _ = await loop.create_connection(asyncio.Protocol, HOST, echo.sockets[0].getsockname()[1])
    tunnel = Tunnel()
    answer = CIMultiDictProxy(CIMultiDict({"Upgrade": request.headers["Upgrade"]}))
    transport = client.switch_protocols(answer, tunnel)
    tunnel.start(transport, node, to_node=early)
    await tunnel.closed()
    echo.close()


@pytest.fixture
async def served() -> AsyncIterator[int]:
    server = Server(_echo, _upgrade, idle_timeout_s=5)
    port = await server.listen(HOST, 0)
    yield port
    await server.shutdown(0.5)


async def _exchange(port: int, data: bytes, *, until_close: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    try:
        if until_close:
            return await asyncio.wait_for(reader.read(), 5)
        return await asyncio.wait_for(reader.readuntil(b"}"), 5)
    finally:
        writer.close()


def _answers(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Split raw HTTP/1.1 answers that carry a Content-Length."""
    answers = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", 0))
        answers.append((int(lines[0].split()[1]), headers, raw[:length]))
        raw = raw[length:]
    return answers


async def test_pipelined_requests_are_answered_in_order_on_one_connection(served: int) -> None:
    one = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
    two = b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    last = b"GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    answers = _answers(await _exchange(served, one + two + last))
    assert [json.loads(body)["path"] for _, _, body in answers] == ["/one", "/two", "/three"]
    assert json.loads(answers[1][2])["body"] == "abc"
    assert answers[2][1]["connection"] == "close"


async def test_a_client_expecting_100_continue_is_told_to_go_on(served: int) -> None:
    reader, writer = await asyncio.open_connection(HOST, served)
    writer.write(
        b"PUT /cart HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    )
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"ok")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200 OK")
    writer.close()


async def test_a_chunked_request_body_reaches_the_handler_whole(served: int) -> None:
    request = (
        b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    [(status, _, body)] = _answers(await _exchange(served, request))
    assert status == 200 and json.loads(body)["body"] == "abcde"


async def test_a_body_over_the_limit_is_413_and_closes(served: int) -> None:
    size = server_module.MAX_BODY_BYTES + 1
    request = f"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: {size}\r\n\r\n".encode()
    raw = await _exchange(served, request + b"x" * size)
    assert raw.startswith(b"HTTP/1.1 413 Request Entity Too Large")
    assert b"Connection: close" in raw and b"X-Archviz-Node: none" in raw


async def test_a_head_that_never_ends_is_431(served: int) -> None:
    endless = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Pad: p\r\n" * 20_000
    raw = await _exchange(served, endless)
    assert raw.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")


async def test_an_http_1_0_client_gets_its_answer_and_the_close(served: int) -> None:
    [(status, headers, body)] = _answers(await _exchange(served, b"GET /old HTTP/1.0\r\n\r\n"))
    assert status == 200 and headers["connection"] == "close"
    assert json.loads(body)["version"] == "1.0"


async def test_an_answer_of_unknown_length_is_chunked_for_1_1_and_closed_for_1_0(
    served: int,
) -> None:
    chunked = await _exchange(
        served, b"GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    head, _, body = chunked.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n"
    old = await _exchange(served, b"GET /stream HTTP/1.0\r\n\r\n")
    head, _, body = old.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head
    assert body == b"one two three"


async def test_a_streamed_204_has_no_body_framing_and_the_next_answer_follows_clean(
    served: int,
) -> None:
    """A 204 (or 304) has no body: chunked framing or a last chunk after it would be read by
    the browser as the start of the next answer on the connection (Chromium:
    ERR_INVALID_HTTP_RESPONSE on the POST that followed a proxied preflight)."""
    preflight = b"OPTIONS /empty HTTP/1.1\r\nHost: a\r\n\r\n"
    post = b"POST /after HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    raw = await _exchange(served, preflight + post)
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 204 No Content")
    assert b"Transfer-Encoding" not in head and b"Content-Length" not in head
    assert rest.startswith(b"HTTP/1.1 200 OK"), rest[:40]
    [(status, _, body)] = _answers(rest)
    assert status == 200 and json.loads(body)["path"] == "/after"


async def test_a_head_answer_announces_the_length_and_sends_no_body(served: int) -> None:
    raw = await _exchange(served, b"HEAD /h HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length: 7" in head and body == b""


async def test_a_failing_handler_costs_a_500_and_the_connection_serves_on(served: int) -> None:
    boom = b"GET /boom HTTP/1.1\r\nHost: a\r\n\r\n"
    fine = b"GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    answers = _answers(await _exchange(served, boom + fine))
    assert [status for status, _, _ in answers] == [500, 200]


async def test_an_upgrade_after_a_plain_request_becomes_a_tunnel(served: int) -> None:
    """A keep-alive connection that first carried a plain request can then upgrade: the
    answer is 101, and from then on bytes go through both ways, those sent with the
    request's head first."""
    reader, writer = await asyncio.open_connection(HOST, served)
    try:
        writer.write(b"GET /plain HTTP/1.1\r\nHost: a\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"}"), 5)).startswith(b"HTTP/1.1 200 ")
        upgrade = b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: tea\r\n\r\n"
        writer.write(upgrade + b"early ")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head == b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tea\r\n\r\n"
        writer.write(b"bytes")
        assert await asyncio.wait_for(reader.readexactly(11), 5) == b"EARLY BYTES"
    finally:
        writer.close()


async def test_an_upgrade_answered_without_switching_closes_its_connection(served: int) -> None:
    answer = await _exchange(
        served, b"GET /refuse HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: tea\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 426 ")
    assert b"\r\nConnection: close\r\n" in answer and answer.endswith(b"\r\n\r\nno\n")


async def test_a_client_that_stalls_mid_request_is_closed_after_the_idle_timeout() -> None:
    """A request head that never ends does not hold its connection for ever."""
    server = Server(_echo, _upgrade, idle_timeout_s=0.3)
    port = await server.listen(HOST, 0)
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(b"GET /never-finished HTTP/1.1\r\nHost: a\r\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()
        await server.shutdown(0.5)
