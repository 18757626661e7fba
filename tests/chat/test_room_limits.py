"""Rooms are bounded in a real Redis: a cap on how many, idle ones expire, the busiest shown."""

import pytest

from archviz.chat import keys as chat_keys
from archviz.chat import store as store_module
from archviz.chat.rooms import ROOM_IDLE_MS, rooms_by_activity
from archviz.chat.store import RoomStore, command_client
from archviz.chat.view import SHOWN_ROOMS, read_chat_view

ANN = {"user": "ann", "node": "node-1", "since": 0}


@pytest.fixture
async def store(redis_url: str):
    client = command_client()
    yield RoomStore(client)
    await client.aclose()


async def _rooms(store: RoomStore) -> set[str]:
    return {r.decode() for r in await store.client.smembers(chat_keys.ROOMS)}


def _room_keys(room: str) -> list[str]:
    return [chat_keys.seq(room), chat_keys.history(room), chat_keys.members(room),
            chat_keys.seen(room), chat_keys.ledger(room)]  # fmt: skip


async def test_a_new_room_past_the_cap_is_refused_but_existing_rooms_still_take_joins(
    store: RoomStore, monkeypatch
) -> None:
    """With the most rooms there may be, joining a new name is refused and writes nothing."""
    monkeypatch.setattr(store_module, "ROOMS_MAX", 3)
    for room in ("a", "b", "c"):
        assert await store.join(room, f"{room}.1", ANN, now_ms=1_000) is not None
    assert await store.join("d", "d.1", ANN, now_ms=1_000) is None
    assert await store.client.exists(*_room_keys("d")) == 0
    assert set(await store.join("a", "a.2", ANN, now_ms=1_000)) == {"a.1", "a.2"}
    assert await _rooms(store) == {"a", "b", "c"}


async def test_an_idle_room_is_removed_with_its_history_and_no_longer_reaped(
    store: RoomStore,
) -> None:
    """No member and no message for ROOM_IDLE_MS: the room and its keys go, and a later reap
    does not visit it; until then it stays."""
    await store.join("quiet", "q.1", ANN, now_ms=1_000)
    await store.append("quiet", {"text": "hi", "mode": "redis", "ts": 2_000})
    await store.leave("quiet", "q.1")
    await store.reap(now_ms=2_000 + ROOM_IDLE_MS - 1)
    assert await _rooms(store) == {"quiet"}
    await store.reap(now_ms=2_000 + ROOM_IDLE_MS)
    assert await _rooms(store) == set()
    assert await store.client.exists(*_room_keys("quiet")) == 0
    assert await store.client.zscore(chat_keys.ROOMS_ACTIVE, "quiet") is None
    assert await store.client.zscore(chat_keys.ROOMS_LAST_MESSAGE, "quiet") is None


async def test_a_room_with_members_never_expires_and_its_heartbeats_count_as_activity(
    store: RoomStore,
) -> None:
    """A member keeps a room however old its last message; once it leaves, the idle time
    counts from its node's last heartbeat, not from the join."""
    await store.join("kept", "k.1", ANN, now_ms=0)
    late = 5 * ROOM_IDLE_MS
    await store.reap(now_ms=late, ttl_ms=10 * ROOM_IDLE_MS)  # the member is not silent
    await store.beat({"kept": {"k.1": ANN}}, late, {})
    await store.leave("kept", "k.1")
    await store.reap(now_ms=late + ROOM_IDLE_MS - 1)
    assert await _rooms(store) == {"kept"}


async def test_an_expired_room_can_be_made_again_from_scratch(store: RoomStore) -> None:
    """Joining a name whose room expired starts a new room, numbered from 1."""
    await store.join("again", "a.1", ANN, now_ms=0)
    await store.append("again", {"text": "old", "mode": "redis", "ts": 0})
    await store.leave("again", "a.1")
    await store.reap(now_ms=ROOM_IDLE_MS)
    await store.join("again", "a.2", ANN, now_ms=ROOM_IDLE_MS)
    assert await store.bounds("again") == (0, None)
    assert (await store.append("again", {"text": "new", "mode": "redis", "ts": 1}))[0] == 1


def test_rooms_are_listed_by_members_then_latest_message_then_name() -> None:
    """The most members first; a tie goes to the latest message, then to the name."""
    members = {"aaa": 0, "busy": 3, "chatty": 1, "calm": 1, "zed": 1}
    last = {"chatty": 900.0, "calm": 100.0, "aaa": 1_000.0}
    assert rooms_by_activity(members, last) == ["busy", "chatty", "calm", "zed", "aaa"]


async def test_empty_rooms_whose_names_sort_first_do_not_hide_the_real_ones(
    store: RoomStore, redis_client
) -> None:
    """Twenty-odd empty rooms named to sort first: the chat page still shows the rooms
    with people in them and the one with the latest message, before any of them."""
    for i in range(SHOWN_ROOMS + 5):
        await store.join(f"a{i:02}", f"a{i}.1", ANN, now_ms=1_000)
        await store.leave(f"a{i:02}", f"a{i}.1")
    await store.join("lobby", "l.1", ANN, now_ms=1_000)
    await store.join("lobby", "l.2", ANN | {"user": "bo"}, now_ms=1_000)
    await store.join("talk", "t.1", ANN, now_ms=1_000)
    await store.append("talk", {"text": "hi", "mode": "redis", "ts": 5_000})
    await store.join("seminar", "s.1", ANN, now_ms=1_000)
    names = [room["name"] for room in read_chat_view(redis_client)["rooms"]]
    assert len(names) == SHOWN_ROOMS
    assert names[:3] == ["lobby", "talk", "seminar"]
