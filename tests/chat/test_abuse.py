"""Clients that try to get round the chat's limits, on real nodes and a real Redis: a room
too many, and acknowledgements of frames never sent."""

import asyncio
import json

import aiohttp
import pytest

from archviz.chat import keys as chat_keys
from archviz.chat.client import ChatClient, running
from archviz.chat.rooms import ROOMS_MAX
from archviz.core import close_codes
from archviz.core.redis_conn import sync_client
from tests.chat.conftest import clients_on, lb_url, node_url

pytestmark = pytest.mark.integration


async def test_joining_a_new_room_past_the_cap_is_refused_with_4009(chat_lab) -> None:
    """With ROOMS_MAX rooms in use a new name gets an error frame and close code 4009, and
    an existing room still takes the same client."""
    client = sync_client(chat_lab.redis_url)
    present = {r.decode() for r in client.smembers(chat_keys.ROOMS)}
    fillers = [f"filler-{i}" for i in range(ROOMS_MAX - len(present))]
    client.sadd(chat_keys.ROOMS, *fillers)
    try:
        refused = ChatClient(node_url(chat_lab, "node-1"), "one-too-many", "ann", reconnect=False)
        await asyncio.wait_for(refused.run(), 10)
        assert "too many rooms" in refused.frames_of("error")[0]["error"]
        assert refused.closes[-1][1] == close_codes.ROOMS_FULL
        assert not client.sismember(chat_keys.ROOMS, "one-too-many")
        welcomed = ChatClient(node_url(chat_lab, "node-2"), fillers[0], "ann", reconnect=False)
        async with running(welcomed):
            assert welcomed.frames_of("welcome")[0]["room"] == fillers[0]
    finally:
        client.srem(chat_keys.ROOMS, *fillers)
        client.zrem(chat_keys.ROOMS_ACTIVE, *fillers)


async def _ack_everything(ws) -> None:
    """Claim every frame there could ever be, and read nothing into it."""
    while True:
        await ws.send_str(json.dumps({"type": "ack", "received": 10**18}))
        await asyncio.sleep(0.2)


async def _send_many(client: ChatClient, count: int) -> None:
    for i in range(count):
        await client.send(f"{client.user} {i}")
        await asyncio.sleep(0.06)  # under the 20 per second flood limit


async def test_a_client_acknowledging_frames_never_sent_is_still_closed_as_too_slow(
    chat_lab,
) -> None:
    """An ack of more frames than the node sent is refused, not believed: the client's
    unacknowledged frames pass the cap and it is closed with 4008."""
    liar = ChatClient(node_url(chat_lab, "node-2"), "r-liar", "liar", reconnect=False)
    liar._ack_forever = _ack_everything
    task = asyncio.create_task(liar.run())
    await asyncio.wait_for(liar.connected.wait(), 10)
    senders = [(f"s{i}", "node-1") for i in range(20)]
    async with clients_on(chat_lab, "r-liar", *senders) as clients:
        await asyncio.gather(*(_send_many(c, 55) for c in clients))
        await asyncio.wait_for(task, 20)
    assert liar.closes[-1][1] == close_codes.TOO_SLOW
    assert any("only" in f["error"] and "were sent" in f["error"] for f in liar.frames_of("error"))


async def _handshake_status(url: str, origin: str | None) -> int:
    """The HTTP status a chat handshake through `url` gets with this Origin (101: opened)."""
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(
                f"{url}/ws/chat/origin-check/?user=eve", headers=headers
            ) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status


async def test_a_page_from_another_origin_cannot_open_a_chat_socket(chat_lab) -> None:
    """Through the balancer and straight to a node: a page elsewhere (another port of this
    machine too) gets 403; the dashboard's page and a program with no Origin get in."""
    dashboard = chat_lab.url.rstrip("/")
    for url in (lb_url(chat_lab), node_url(chat_lab, "node-1")):
        assert await _handshake_status(url, "http://evil.example") == 403
        assert await _handshake_status(url, "http://127.0.0.1:9") == 403
        assert await _handshake_status(url, dashboard) == 101
        assert await _handshake_status(url, None) == 101
