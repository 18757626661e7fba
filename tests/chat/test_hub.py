"""One node's chat hub against a real Redis: what its presence expiry announces."""

import json

import pytest

from archviz.chat import keys as chat_keys
from archviz.chat.hub import ChatHub
from archviz.chat.store import RoomStore, command_client
from archviz.trace.events import now_ms


@pytest.fixture
async def store(redis_url: str, dashboard_emitter):
    client = command_client()
    yield RoomStore(client)
    await client.aclose()


async def _offlines(store: RoomStore) -> list[dict]:
    logged = [json.loads(p) for p in await store.client.lrange(chat_keys.PRESENCE_LOG, 0, -1)]
    return [p for p in logged if p["event"] == "offline"]


async def test_an_expired_connection_of_a_user_connected_again_says_where(store) -> None:
    """ann's old connection on node-1 times out after she rejoined on node-2: the offline
    names node-2 in back_on (her page must not say she went offline); bo, gone, has none."""
    now = now_ms()
    await store.join("r", "node-1.old", {"user": "ann", "node": "node-1", "since": 0}, 1_000)
    await store.join("r", "node-1.bo", {"user": "bo", "node": "node-1", "since": 0}, 1_000)
    await store.join("r", "node-2.new", {"user": "ann", "node": "node-2", "since": now}, now)
    hub = ChatHub("node-2")
    hub.store = store
    await hub.beat()
    by_user = {p["user"]: p for p in await _offlines(store)}
    assert by_user["ann"]["conn"] == "node-1.old" and by_user["ann"]["back_on"] == ["node-2"]
    assert "back_on" not in by_user["bo"]
