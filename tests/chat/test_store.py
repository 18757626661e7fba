"""The rooms in a real Redis: sequence numbers, capped history, presence expiry, ledger."""

import pytest

from archviz.chat import store as store_module
from archviz.chat.store import RoomStore, command_client


@pytest.fixture
async def store(redis_url: str):
    client = command_client()
    yield RoomStore(client)
    await client.aclose()


async def test_append_numbers_messages_and_keeps_them_in_order(store: RoomStore) -> None:
    """Each message gets the next number; the history returns them by number."""
    numbers = [(await store.append("r", {"text": t, "mode": "redis", "ts": 1}))[0] for t in "abc"]
    assert numbers == [1, 2, 3]
    found = await store.history("r", 2, 3)
    assert {s: m["text"] for s, m in found.items()} == {2: "b", 3: "c"}
    assert await store.bounds("r") == (3, 1)


async def test_history_is_capped(store: RoomStore, monkeypatch) -> None:
    """Past the cap the oldest messages are trimmed: bounds show what is left."""
    monkeypatch.setattr(store_module, "HISTORY_MAX", 10)
    for i in range(400):
        await store.append("r", {"text": str(i), "mode": "redis", "ts": i})
    last, first = await store.bounds("r")
    assert last == 400 and 1 < first <= 391


async def test_silent_connections_expire_once(store: RoomStore) -> None:
    """A connection whose heartbeat is older than the TTL is reaped once, with its info."""
    await store.join("r", "node-1.a", {"user": "ann", "node": "node-1"}, now_ms=1_000)
    await store.join("r", "node-2.b", {"user": "bo", "node": "node-2"}, now_ms=9_000)
    gone = await store.reap(now_ms=10_000, ttl_ms=2_000)
    assert [(g["conn"], g["user"], g["last_seen"]) for g in gone] == [("node-1.a", "ann", 1000)]
    assert await store.reap(now_ms=10_000, ttl_ms=2_000) == []


async def test_silent_connections_are_reaped_oldest_first(store: RoomStore) -> None:
    """Every connection silent for the TTL or longer goes, the longest silent first."""
    for conn, seen in (("a", 1_000), ("b", 9_500), ("c", 500)):
        await store.join("r", conn, {"user": conn, "node": "node-1", "since": 0}, now_ms=seen)
    assert [g["conn"] for g in await store.reap(now_ms=10_000, ttl_ms=2_000)] == ["c", "a"]
    assert [g["conn"] for g in await store.reap(now_ms=11_500, ttl_ms=2_000)] == ["b"]


async def test_beat_refreshes_presence_and_adds_ledger_counts(store: RoomStore) -> None:
    """A heartbeat keeps a connection alive and adds the node's ledger counts."""
    await store.join("r", "c1", {"user": "ann", "node": "node-1"}, now_ms=1_000)
    info = {"user": "ann", "node": "node-1"}
    await store.beat({"r": {"c1": info}}, 9_500, {"r": {"delivered": 5, "lost": 0}})
    await store.beat({}, 9_600, {"r": {"delivered": 2}})
    assert await store.reap(now_ms=10_000, ttl_ms=2_000) == []
    assert await store.client.hget("archviz:chat:ledger:r", "delivered") == b"7"


async def test_beat_reports_connections_that_were_expired_while_alive(store: RoomStore) -> None:
    """A node too busy to beat in time finds its expired connections and puts them back."""
    info = {"user": "ann", "node": "node-1"}
    await store.join("r", "c1", info, now_ms=1_000)
    await store.join("r", "c2", info, now_ms=9_000)
    await store.reap(now_ms=10_000, ttl_ms=2_000)
    back = await store.beat({"r": {"c1": info, "c2": info}}, 10_100, {})
    assert back == {"r": ["c1"]}
    assert set(await store.client.hkeys("archviz:chat:members:r")) == {b"c1", b"c2"}
