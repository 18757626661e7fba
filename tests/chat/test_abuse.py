"""Clients that try to get round the chat's limits, on real nodes and a real Redis."""

import asyncio
import json

import pytest

from archviz.chat.client import ChatClient
from archviz.core import close_codes
from tests.chat.conftest import clients_on, node_url

pytestmark = pytest.mark.integration


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
