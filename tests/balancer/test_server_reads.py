"""The balancer's HTTP server given reads split where the test chooses: the head cap counts
the head's bytes alone, and a refused client's lingering bytes are bounded.

The connection sits on a real socket pair; the test hands its protocol the reads itself,
since the kernel decides where a real sender's writes are split."""

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from archviz.balancer import server as server_module
from archviz.balancer.listener import Server
from archviz.balancer.request import Request
from archviz.balancer.server import ClientConnection

UPLOAD = 100 * 1024  # a legitimate POST, over the 64 KiB head cap but under the body cap


async def _length(request: Request, client: ClientConnection) -> None:
    client.respond(200, [("Content-Type", "text/plain")], b"%d" % len(request.body))


async def _no_websockets(request: Request, client: ClientConnection, early: bytes) -> None:
    client.respond(400, [], b"")


@dataclass
class Paired:
    connection: ClientConnection
    transport: asyncio.Transport
    client: asyncio.StreamReader


@pytest.fixture
async def paired() -> AsyncIterator[Paired]:
    server = Server(_length, _no_websockets, idle_timeout_s=5)
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, connection = await loop.connect_accepted_socket(server, ours)
    reader, writer = await asyncio.open_connection(sock=theirs)
    yield Paired(connection, transport, reader)
    writer.close()
    transport.abort()


async def test_a_head_split_across_reads_with_a_big_body_after_it_is_not_431(
    paired: Paired,
) -> None:
    """The read that ends the head carries 100 KiB of body: only the head's bytes count."""
    paired.connection.data_received(
        b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n" % UPLOAD
    )
    paired.connection.data_received(b"Connection: close\r\n\r\n" + b"u" * UPLOAD)
    answer = await asyncio.wait_for(paired.client.read(), 5)
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"%d" % UPLOAD)


async def test_a_head_end_split_between_reads_is_found(paired: Paired) -> None:
    """The blank line that ends the head is split "\\r\\n\\r" | "\\n": still found."""
    paired.connection.data_received(b"POST /up HTTP/1.1\r\nHost: a\r\nConnection: close\r\n")
    paired.connection.data_received(b"Content-Length: %d\r\n\r" % UPLOAD)
    paired.connection.data_received(b"\n" + b"u" * UPLOAD)
    answer = await asyncio.wait_for(paired.client.read(), 5)
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"%d" % UPLOAD)


async def test_a_head_that_goes_on_past_the_cap_across_reads_is_still_431(
    paired: Paired,
) -> None:
    paired.connection.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n")
    for _ in range(3):
        paired.connection.data_received(b"X-Pad: p\r\n" * 3000)
    answer = await asyncio.wait_for(paired.client.readuntil(b"\r\n\r\n"), 5)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")


async def test_a_refused_client_that_sends_on_is_cut_off_past_the_linger_bound(
    paired: Paired,
) -> None:
    """After its 400 a client goes on sending: what is dropped is bounded, then it is cut."""
    paired.connection.data_received(b"NOT HTTP AT ALL\r\n\r\n")
    answer = await asyncio.wait_for(paired.client.readuntil(b"\r\n\r\n"), 5)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request")
    chunk = b"x" * 65536
    for _ in range(server_module.LINGER_MAX_BYTES // len(chunk)):
        paired.connection.data_received(chunk)
    assert not paired.transport.is_closing()  # within the bound it lingers, to be polite
    paired.connection.data_received(chunk)
    assert paired.transport.is_closing()


async def test_a_head_over_the_cap_in_one_read_is_431_at_once(paired: Paired) -> None:
    """72 KiB of head, unfinished, in the read that begins it: refused without waiting for
    more (or for the idle timeout)."""
    pad = (b"X-Pad: " + b"p" * 8000 + b"\r\n") * 9
    paired.connection.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n" + pad)
    answer = await asyncio.wait_for(paired.client.readuntil(b"\r\n\r\n"), 5)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")


async def test_a_pipelined_head_after_a_request_counts_from_its_own_start(
    paired: Paired,
) -> None:
    """A read carrying a whole request and 56 KiB of the next one's head: under the cap."""
    first = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
    second = b"GET /two HTTP/1.1\r\nHost: a\r\n" + (b"X-Pad: " + b"p" * 8000 + b"\r\n") * 7
    paired.connection.data_received(first + second)
    paired.connection.data_received(b"Connection: close\r\n\r\n")
    answers = await asyncio.wait_for(paired.client.read(), 5)
    assert answers.count(b"HTTP/1.1 200 OK") == 2
