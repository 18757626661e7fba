"""A replica's watchers: reference counts, catch-up plans, ordering and outboxes in pure
code; then the hub on the real Redis, with its one pub/sub connection."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import redis

from archviz.core import close_codes
from archviz.core.redis_conn import async_blocking_client
from archviz.gateway import keys as gateway_keys
from archviz.gateway.auction import Since
from archviz.gateway.edge.pipeline import Ended
from archviz.gateway.edge.watchers import (
    CHECK,
    Hub,
    RefCounts,
    Watcher,
    catch_up,
    live,
    place,
)
from archviz.trace.emitter import Emitter
from tests.harness.wait_for import async_wait_for

CLAIMS = {
    "sub": "vera",
    "role": "viewer",
    "scope": "auctions:read auctions:watch",
    "aud": "a",
    "iss": "i",
    "iat": 0.0,
    "exp": 1e12,
    "jti": "j" * 20,
}
STATE = {"id": "lamp", "seq": 9, "highest_cents": 5_000}


def update(seq: int) -> dict:
    return {
        "type": "bid",
        "auction": "lamp",
        "seq": seq,
        "amount_cents": 100 * seq,
        "bidder": "bob",
        "ends_at_ms": 0,
        "ts": 0,
        "trace": "",
    }


# --- pure ----------------------------------------------------------------------------------


def test_the_first_watcher_subscribes_and_the_last_unsubscribes() -> None:
    refs = RefCounts()
    assert refs.add("lamp") is True
    assert refs.add("lamp") is False
    assert refs.add("map") is True
    assert refs.counts() == {"lamp": 2, "map": 1}
    assert refs.remove("lamp") is False
    assert refs.remove("lamp") is True
    assert refs.remove("lamp") is False  # not counted: nothing to unsubscribe
    assert refs.counts() == {"map": 1}


def test_a_complete_catch_up_sends_the_updates_after_the_seq() -> None:
    plan = catch_up(3, Since([update(4), update(5)], True, 5), STATE)
    assert [(f["type"], f["update"]["seq"], f["replayed"]) for f in plan.frames] == [
        ("update", 4, True),
        ("update", 5, True),
    ]
    assert plan.last_seq == 5


def test_nothing_missed_is_no_frame() -> None:
    assert catch_up(5, Since([], True, 5), STATE) == ([], 5)


def test_missing_updates_are_a_resync_from_the_current_state() -> None:
    plan = catch_up(3, Since([update(7)], False, 9), STATE)
    assert [f["type"] for f in plan.frames] == ["resync"]
    assert plan.frames[0]["auction"] == STATE and "seq 3" in plan.frames[0]["reason"]
    assert plan.last_seq == 9


@pytest.mark.parametrize(
    ("last", "seq", "placed"),
    [(4, 5, "next"), (4, 4, "duplicate"), (4, 2, "duplicate"), (4, 6, "gap")],
)
def test_a_live_update_is_next_a_duplicate_or_after_a_gap(last, seq, placed) -> None:
    assert place(last, seq) == placed


async def test_a_full_outbox_ends_the_watcher_too_slow_once() -> None:
    watcher = Watcher("lamp", CLAIMS, "kid", outbox=2)
    ended = []
    watcher.on_end = ended.append
    assert watcher.offer(("update", update(1))) and watcher.offer(("update", update(2)))
    assert not watcher.offer(("update", update(3)))
    assert not watcher.offer(("update", update(4)))
    assert [e.code for e in ended] == [close_codes.TOO_SLOW]


def test_a_live_update_is_encoded_once_as_an_update_frame() -> None:
    heard = live(update(4))
    assert heard.seq == 4
    assert json.loads(heard.frame) == {"type": "update", "update": update(4), "replayed": False}


class Socket:
    """What the hub writes to a live watcher's socket, and whether its buffer is full."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.full = False

    async def send(self, frame: bytes) -> None:
        self.sent.append(frame)


def live_watcher(last_seq: int) -> tuple[Watcher, Socket]:
    watcher, socket = Watcher("lamp", CLAIMS, "k"), Socket()
    watcher.go_live(last_seq, socket.send, lambda: socket.full)
    return watcher, socket


async def test_a_caught_up_watcher_takes_the_next_update_straight() -> None:
    watcher, socket = live_watcher(4)
    heard = live(update(5))
    assert watcher.takes_straight(5)
    await watcher.send_straight(heard)
    assert socket.sent == [heard.frame] and watcher.last_seq == 5
    assert watcher.outbox.empty()


def test_only_a_live_caught_up_idle_watcher_with_room_takes_an_update_straight() -> None:
    """Anything else goes through the outbox, where its socket's task keeps the order (and
    fills a gap from the stream)."""
    assert not Watcher("lamp", CLAIMS, "k").takes_straight(1)  # not welcomed yet
    watcher, socket = live_watcher(4)
    assert not watcher.takes_straight(6)  # a gap
    assert not watcher.takes_straight(4)  # a duplicate
    socket.full = True
    assert not watcher.takes_straight(5)  # its socket is backed up
    socket.full = False
    watcher.offer(("frame", {"type": "pong"}))
    assert not watcher.takes_straight(5)  # something waits before it
    watcher.outbox.get_nowait()
    watcher.pumping = True
    assert not watcher.takes_straight(5)  # its task is sending
    watcher.pumping = False
    watcher.end(Ended(close_codes.TOO_SLOW, "too_slow", ""))
    assert not watcher.takes_straight(5)  # ended


async def test_the_first_reason_to_end_a_watcher_wins() -> None:
    watcher = Watcher("lamp", CLAIMS, "kid")
    ended = []
    watcher.on_end = ended.append
    watcher.end(Ended(close_codes.TOKEN_REVOKED, "revoked", ""))
    watcher.end(Ended(close_codes.FLOODING, "flooding", ""))
    assert watcher.ended.code == close_codes.TOKEN_REVOKED and len(ended) == 1
    assert not watcher.offer(CHECK)


# --- the hub on Redis -----------------------------------------------------------------------


@pytest.fixture
async def hub(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[Hub]:
    emitter = Emitter("gateway-t", client_factory=lambda: redis_client)
    heard: list[str] = []
    started = Hub(
        "gateway-t",
        emitter,
        async_blocking_client(redis_url),
        on_keys_changed=lambda: heard.append("keys"),
    )
    started.heard = heard
    await started.start()
    yield started
    await started.close()


def subscribers(client: redis.Redis, auction: str) -> int:
    channel = gateway_keys.auction_channel(auction)
    return dict(client.pubsub_numsub(channel))[channel.encode()]


async def test_two_watchers_of_an_auction_share_one_subscription(
    hub: Hub, redis_client: redis.Redis
) -> None:
    first, second = Watcher("lamp", CLAIMS, "k"), Watcher("lamp", CLAIMS, "k")
    await hub.join(first)
    await hub.join(second)
    assert hub.refs.counts() == {"lamp": 2} and subscribers(redis_client, "lamp") == 1
    await hub.leave(first)
    assert subscribers(redis_client, "lamp") == 1
    await hub.leave(second)
    await hub.leave(second)  # twice: counted once
    assert hub.refs.counts() == {}
    await async_wait_for(
        lambda: subscribers(redis_client, "lamp"), "unsubscribed", until=lambda n: n == 0
    )


async def test_a_published_update_reaches_each_watcher_of_its_auction(
    hub: Hub, redis_client: redis.Redis
) -> None:
    lamp, other = Watcher("lamp", CLAIMS, "k"), Watcher("map", CLAIMS, "k")
    await hub.join(lamp)
    await hub.join(other)
    redis_client.publish(gateway_keys.auction_channel("lamp"), "not json")  # ignored
    redis_client.publish(gateway_keys.auction_channel("lamp"), json.dumps(update(2)))
    kind, item = await asyncio.wait_for(lamp.outbox.get(), 5)
    assert (kind, item) == ("update", live(update(2)))
    assert other.outbox.empty() and lamp.outbox.empty()


async def test_a_published_update_is_written_straight_to_a_live_watcher(
    hub: Hub, redis_client: redis.Redis
) -> None:
    """Caught up and idle: the hub writes the frame itself, no outbox, no task between."""
    watcher, socket = live_watcher(1)
    await hub.join(watcher)
    redis_client.publish(gateway_keys.auction_channel("lamp"), json.dumps(update(2)))
    await async_wait_for(lambda: socket.sent, "the frame", until=lambda sent: len(sent) == 1)
    assert socket.sent == [live(update(2)).frame] and watcher.last_seq == 2
    assert watcher.outbox.empty()


async def test_a_keys_changed_notice_reaches_the_key_ring(
    hub: Hub, redis_client: redis.Redis
) -> None:
    redis_client.publish(gateway_keys.KEYS_CHANGED, "revoke")
    await async_wait_for(lambda: hub.heard, "the notice", until=lambda h: h == ["keys"])


async def test_after_its_connection_is_cut_the_hub_resubscribes_and_watchers_check(
    hub: Hub, redis_client: redis.Redis
) -> None:
    """Messages may have been lost meanwhile: each watcher looks for missed updates, the key
    ring is re-read, and updates flow again on the new connection."""
    watcher = Watcher("lamp", CLAIMS, "k")
    await hub.join(watcher)
    redis_client.client_kill_filter(_type="pubsub")
    assert await asyncio.wait_for(watcher.outbox.get(), 10) == CHECK
    assert "keys" in hub.heard
    await async_wait_for(
        lambda: subscribers(redis_client, "lamp"), "subscribed again", until=lambda n: n == 1
    )
    redis_client.publish(gateway_keys.auction_channel("lamp"), json.dumps(update(3)))
    kind, item = await asyncio.wait_for(watcher.outbox.get(), 5)
    assert (kind, item.seq) == ("update", 3)
