"""A slow reader's unsent bytes in a real node's pressure (issue 12): a chat client that stops
reading while its room keeps talking leaves the node's writes to it waiting in the node's own
process (daphne gives no backpressure), and the heartbeat's `outgoing_bytes` signal shows
them; once that client is gone, by its own hand or by the chat's too-slow guard, they are
freed and the signal is back to 0."""

import asyncio
import base64
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from archviz.chat import keys as chat_keys
from archviz.chat.client import ChatClient, running
from archviz.chat.consumer import MAX_UNACKED, SENDS_PER_S
from archviz.chat.messages import MAX_TEXT_BYTES
from archviz.core import registry
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.node.pressure import Limits
from tests.balancer.conftest import HOST, BalancerLab
from tests.harness.wait_for import async_wait_for

NODE = "slow-1"
# What the process holds for the slow reader, not the kernel: the reader's small window
# fills after a few KiB, then the node's kernel send buffer takes about 2 MiB more (it grows
# to net.ipv4.tcp_wmem's 4 MiB maximum; `ss -tm` showed 1.9 MiB queued), and every byte past
# that waits in daphne. The too-slow guard closes the reader after MAX_UNACKED frames, about
# 4 MiB of them: the floor is reached well before.
FLOOR = 256 * 1024
TEXT = "x" * MAX_TEXT_BYTES  # the largest message the chat takes
SENDERS = 12
SENDER_RATE = SENDS_PER_S - 4  # each sender's messages a second: under the chat's flood limit
SMALL_RCVBUF = 4096  # the kernel doubles it; set before connect, so the window stays small


@pytest.fixture(scope="module")
def lab(redis_server: EmbeddedRedis) -> Iterator[BalancerLab]:
    """One node, never refusing or shedding by pressure (thresholds 100)."""
    lab = BalancerLab(redis_server.url)
    lab.redis.flushdb()
    try:
        lab.start_node(NODE)
        lab.wait_registered("node", {NODE})
        yield lab
    finally:
        lab.stop_all()


def _port(lab: BalancerLab) -> int:
    return next(r.port for r in registry.registered(lab.redis, "node") if r.id == NODE)


def _pressure(lab: BalancerLab) -> dict:
    return lab.node_metrics(NODE).get("extra", {}).get("pressure", {})


def _outgoing(pressure: dict) -> int:
    return pressure.get("signals", {}).get("outgoing_bytes", -1)


def _too_slow(lab: BalancerLab, room: str) -> int:
    """The room's ledger: clients the node closed with 4008 (too slow)."""
    return int(lab.redis.hget(chat_keys.ledger(room), "too_slow") or 0)


def _slow_reader(port: int, room: str) -> socket.socket:
    """A raw socket that joins `room` (the WebSocket upgrade by hand, up to the welcome) and
    never reads again. No Origin header: a program's, which the node accepts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF)
    sock.settimeout(10)
    sock.connect((HOST, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/chat/{room}/?user=slow HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    received = b""
    while b'"welcome"' not in received:
        chunk = sock.recv(4096)
        assert chunk, f"the node closed the slow reader's handshake: {received[:300]!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 101 "), received[:300]
    return sock


async def _talk(client: ChatClient, talking: asyncio.Event) -> None:
    while talking.is_set():
        await client.send(TEXT)
        await asyncio.sleep(1 / SENDER_RATE)


@contextlib.asynccontextmanager
async def _room_talking(lab: BalancerLab, room: str) -> AsyncIterator[asyncio.Event]:
    """SENDERS chat clients in `room` that read everything and post 4 KiB messages within
    the flood limit while the yielded event is set; none of them is ever refused."""
    url = f"http://{HOST}:{_port(lab)}"
    talking = asyncio.Event()
    talking.set()
    async with contextlib.AsyncExitStack() as stack:
        senders = [
            await stack.enter_async_context(running(ChatClient(url, room, f"talker-{i}")))
            for i in range(SENDERS)
        ]
        tasks = [asyncio.create_task(_talk(c, talking)) for c in senders]
        try:
            yield talking
        finally:
            talking.clear()
            await asyncio.gather(*tasks)
        assert all(c.frames_of("error") == [] for c in senders)
        assert all(len(c.opens) == 1 for c in senders)  # none closed and back


async def test_a_slow_readers_unsent_bytes_show_in_the_pressure_until_it_leaves(lab):
    """The room talks past a reader that stopped: outgoing_bytes climbs over 256 KiB, stays
    there once the room is quiet (nothing drains them), and falls to 0 when the reader
    closes its socket; the too-slow guard had no part in it."""
    room = "slow-by-hand"
    slow = _slow_reader(_port(lab), room)
    try:
        async with _room_talking(lab, room) as talking:
            piling = await async_wait_for(
                lambda: _pressure(lab),
                f"{NODE}'s outgoing_bytes over {FLOOR} while the reader stalls",
                30,
                until=lambda p: _outgoing(p) > FLOOR,
                explain=lambda: f"closed as too slow so far: {_too_slow(lab, room)}",
            )
            talking.clear()
        held = await async_wait_for(  # a heartbeat after the room went quiet
            lambda: _pressure(lab),
            f"{NODE}'s outgoing_bytes still over {FLOOR} with the room quiet",
            until=lambda p: _outgoing(p) > FLOOR and p["lag_wakeups"] > piling["lag_wakeups"],
        )
    finally:
        slow.close()
    freed = await async_wait_for(
        lambda: _pressure(lab),
        f"{NODE}'s outgoing_bytes back to 0",
        until=lambda p: _outgoing(p) == 0,
    )
    for pressure in (piling, held):
        share = round(_outgoing(pressure) / Limits().outgoing_bytes, 3)
        assert pressure["normalised"]["outgoing_bytes"] == share > 0
    assert freed["normalised"]["outgoing_bytes"] == 0
    assert _too_slow(lab, room) == 0


async def test_the_too_slow_guard_drops_a_reader_that_never_reads_and_frees_its_bytes(lab):
    """A reader that never reads passes MAX_UNACKED frames: the node closes it as too slow
    (4008, counted in the room's ledger) and drops the connection, whose bytes it then no
    longer holds, while the client still has its socket open."""
    room = "slow-guarded"
    slow = _slow_reader(_port(lab), room)
    try:
        async with _room_talking(lab, room):
            await async_wait_for(
                lambda: _too_slow(lab, room),
                f"the node closing the slow reader as too slow (after {MAX_UNACKED} frames)",
                30,
            )
        freed = await async_wait_for(
            lambda: _pressure(lab),
            f"{NODE}'s outgoing_bytes back to 0 with the slow reader's socket still open",
            until=lambda p: _outgoing(p) == 0,
        )
        assert freed["normalised"]["outgoing_bytes"] == 0
        with pytest.raises(ConnectionResetError):  # the node dropped it: nothing more comes
            while slow.recv(65536):
                pass
    finally:
        slow.close()
    assert _too_slow(lab, room) == 1
