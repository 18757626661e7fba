"""The auction WebSocket of a gateway replica in process, on the real Redis: how it is
authenticated, welcomed, caught up and fed, and every way the gateway closes it."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from archviz.core import close_codes
from archviz.gateway import keys as gateway_keys
from archviz.gateway import signing_keys
from archviz.gateway.auction import place_bid
from archviz.trace.events import now_ms
from tests.gateway.edge_support import *  # noqa: F403  (the in-process gateway's fixtures)
from tests.gateway.edge_support import LAMP, parts, published
from tests.harness.wait_for import async_wait_for


async def connect(client: TestClient, bearer: str | None = None, *, after: int | None = None,
                  auction: str = LAMP) -> aiohttp.ClientWebSocketResponse:  # fmt: skip
    path = f"/ws/auctions/{auction}/" + ("" if after is None else f"?after={after}")
    protocols = ("bearer", bearer) if bearer else ()
    return await client.ws_connect(path, protocols=protocols)


async def frame(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> dict:
    message = await ws.receive(timeout=timeout)
    assert message.type == WSMsgType.TEXT, (message.type, message.data, message.extra)
    return message.json()


async def closed(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> tuple[int, str]:
    """The code and reason the server closed with (frames before it are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.receive()
            if message.type == WSMsgType.CLOSE:
                return message.data, message.extra or ""
            if message.type in (WSMsgType.CLOSED, WSMsgType.CLOSING):
                return ws.close_code, message.extra or ""


def bid(client: redis.Redis, amount: int, bidder: str = "bob") -> int:
    """A bid placed straight in Redis (as the bidding service does): its seq."""
    return place_bid(client, LAMP, bidder, amount, now_ms()).seq


@pytest.fixture
async def watcher(gateway: TestClient, token) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A welcomed viewer's socket on the lamp."""
    ws = await connect(gateway, token("vera", "viewer"))
    assert (await frame(ws))["type"] == "welcome"
    yield ws
    await ws.close()


# --- authenticated, welcomed -------------------------------------------------------------


async def test_a_token_in_the_handshake_is_welcomed_with_the_auctions_state(
    gateway: TestClient, token
) -> None:
    """The server answers the subprotocol `bearer`, never the token."""
    ws = await connect(gateway, token("vera", "viewer"))
    assert ws.protocol == "bearer"
    welcome = await frame(ws)
    assert (welcome["type"], welcome["replica"], welcome["after"]) == ("welcome", "gateway-t", None)
    assert (welcome["auction"]["id"], welcome["auction"]["seq"]) == (LAMP, 1)
    await ws.close()


async def test_the_token_may_come_as_the_first_message(gateway: TestClient, token) -> None:
    ws = await connect(gateway)
    assert ws.protocol is None
    await ws.send_json({"type": "auth", "token": token("vera", "viewer")})
    assert (await frame(ws))["type"] == "welcome"
    await ws.close()


async def test_a_refused_handshake_token_is_a_401_before_the_upgrade(
    gateway: TestClient, token
) -> None:
    expired = token("vera", "viewer", now=time.time() - 100, ttl_s=10)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(gateway, expired)
    assert refused.value.status == 401
    assert parts(gateway).counts.token_errors == {"expired": 1}


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ws/auctions/nope/", 404), (f"/ws/auctions/{LAMP}/?after=-1", 400),
     (f"/ws/auctions/{LAMP}/?after=x", 400)],
)  # fmt: skip
async def test_an_unknown_auction_or_a_bad_after_is_refused_before_the_upgrade(
    gateway: TestClient, token, path: str, status: int
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gateway.ws_connect(path, protocols=("bearer", token()))
    assert refused.value.status == status


async def test_a_plain_get_of_the_socket_route_is_a_400(gateway: TestClient, token) -> None:
    response = await gateway.get(f"/ws/auctions/{LAMP}/")
    assert response.status == 400


async def test_no_token_in_time_closes_with_token_refused(gateway: TestClient) -> None:
    """The route's deadline (cut to 300 ms here) for the first message passes."""
    ws = await connect(gateway)
    assert await closed(ws) == (close_codes.TOKEN_REFUSED, "missing")


@pytest.mark.parametrize(
    ("first", "reason"),
    [('{"type": "hello"}', "missing"), ("not json", "missing"),
     ('{"type": "auth", "token": "x.y.z"}', "malformed")],
)  # fmt: skip
async def test_a_first_message_without_a_good_token_closes_naming_why(
    gateway: TestClient, first: str, reason: str
) -> None:
    ws = await connect(gateway)
    await ws.send_str(first)
    assert await closed(ws) == (close_codes.TOKEN_REFUSED, reason)


async def test_an_expired_first_message_token_closes_with_expired(
    gateway: TestClient, token
) -> None:
    ws = await connect(gateway)
    await ws.send_json({"type": "auth", "token": token(now=time.time() - 100, ttl_s=10)})
    assert await closed(ws) == (close_codes.TOKEN_REFUSED, "expired")


# --- updates: live, resumed, resynced ----------------------------------------------------


async def test_a_watcher_gets_each_live_update_once_in_order(
    watcher, redis_client: redis.Redis
) -> None:
    seqs = [bid(redis_client, 5_000 + 100 * n) for n in range(3)]
    received = [await frame(watcher) for _ in seqs]
    assert [(f["type"], f["update"]["seq"], f["replayed"]) for f in received] == [
        ("update", seq, False) for seq in seqs
    ]
    assert received[-1]["update"]["amount_cents"] == 5_200


async def test_a_watcher_resuming_after_a_seq_gets_what_it_missed_then_live(
    gateway: TestClient, token, redis_client: redis.Redis
) -> None:
    """after=2: the bids 3 and 4 from the stream (replayed), then 5 live; no gap, no
    duplicate."""
    for n in range(3):
        bid(redis_client, 5_000 + 100 * n)  # seq 2, 3, 4
    ws = await connect(gateway, token("vera", "viewer"), after=2)
    welcome = await frame(ws)
    assert (welcome["after"], welcome["auction"]["seq"]) == (2, 4)
    replayed = [await frame(ws), await frame(ws)]
    assert [(f["update"]["seq"], f["replayed"]) for f in replayed] == [(3, True), (4, True)]
    bid(redis_client, 9_000)
    live = await frame(ws)
    assert (live["update"]["seq"], live["replayed"]) == (5, False)
    await ws.close()


async def test_a_watcher_ahead_of_redis_is_told_to_resync(gateway: TestClient, token) -> None:
    """It says it saw seq 99 of an auction at seq 1: Redis lost them; start again."""
    ws = await connect(gateway, token("vera", "viewer"), after=99)
    assert (await frame(ws))["type"] == "welcome"
    resync = await frame(ws)
    assert (resync["type"], resync["auction"]["seq"]) == ("resync", 1)
    await ws.close()


async def test_a_ping_is_answered(watcher) -> None:
    await watcher.send_json({"type": "ping"})
    assert await frame(watcher) == {"type": "pong"}
    await watcher.send_str("what")
    assert (await frame(watcher))["type"] == "error"


async def test_subscriptions_are_counted_per_auction_subscribed_once(
    gateway: TestClient, token, redis_client: redis.Redis, trace
) -> None:
    """Redis sees one subscriber for two watchers; the last to leave unsubscribes."""
    hub = parts(gateway).hub
    channel = gateway_keys.auction_channel(LAMP)

    def subscribers() -> int:
        return dict(redis_client.pubsub_numsub(channel))[channel.encode()]

    first = await connect(gateway, token("vera", "viewer"))
    second = await connect(gateway, token("walt", "viewer"))
    await frame(first), await frame(second)
    assert hub.refs.counts() == {LAMP: 2} and subscribers() == 1
    assert parts(gateway).counts.snapshot(hub.count, hub.refs.counts())["websockets"] == 2
    await first.close()
    await async_wait_for(hub.refs.counts, "one watcher left", until=lambda c: c == {LAMP: 1})
    await second.close()
    await async_wait_for(hub.refs.counts, "no watcher left", until=lambda c: c == {})
    assert subscribers() == 0
    traced = [(e["kind"], e["detail"]["refs"]) for e in published(redis_client, trace)
              if e["kind"] in ("gateway.subscribe", "gateway.unsubscribe")]  # fmt: skip
    assert traced == [("gateway.subscribe", 1), ("gateway.unsubscribe", 0)]


# --- closed by the gateway ---------------------------------------------------------------


async def test_an_expiring_token_closes_its_socket_with_token_expired(
    gateway: TestClient, token
) -> None:
    """A token with half a second left: closed once it would be refused (after the leeway)."""
    ws = await connect(gateway, token("vera", "viewer", now=time.time() - 4.5, ttl_s=5))
    assert (await frame(ws))["type"] == "welcome"
    assert await closed(ws) == (close_codes.TOKEN_EXPIRED, "expired")


async def test_a_revoked_token_closes_its_socket_with_token_revoked(
    watcher, gateway: TestClient, redis_client: redis.Redis
) -> None:
    (open_one,) = parts(gateway).hub.all()
    signing_keys.revoke(redis_client, open_one.claims["jti"], time.time())
    assert await closed(watcher) == (close_codes.TOKEN_REVOKED, "revoked")


async def test_expiring_every_token_closes_every_socket(watcher, redis_client: redis.Redis) -> None:
    signing_keys.expire_all(redis_client, time.time())
    assert await closed(watcher) == (close_codes.TOKEN_REVOKED, "expired")


async def test_a_flooding_client_is_closed(watcher) -> None:
    for _ in range(40):
        await watcher.send_json({"type": "ping"})
    assert await closed(watcher) == (close_codes.FLOODING, "flooding")


async def test_a_watcher_whose_outbox_overflows_is_closed_too_slow(
    watcher, gateway: TestClient
) -> None:
    """More frames at once than its outbox holds (as a burst of updates to a socket that
    does not read would leave there)."""
    (open_one,) = parts(gateway).hub.all()
    for n in range(open_one.outbox.maxsize + 1):
        open_one.offer(("frame", {"type": "pong", "n": n}))
    assert await closed(watcher) == (close_codes.TOO_SLOW, "too_slow")
    assert parts(gateway).counts.closes == {str(close_codes.TOO_SLOW): 1}


# --- no token in the logs ------------------------------------------------------------------


async def test_a_socket_opened_with_a_token_logs_no_token(
    gateway: TestClient, token, caplog
) -> None:
    """`bearer, <token>` is served without aiohttp warning about the offered list."""
    offered = token("vera", "viewer")
    with caplog.at_level(logging.DEBUG):
        ws = await connect(gateway, offered)
        assert (await frame(ws))["type"] == "welcome"
        await ws.close()
    assert offered not in caplog.text
    assert "overlap server-known" not in caplog.text


async def test_a_token_offered_without_bearer_is_redacted_from_the_warning(
    gateway: TestClient, token, caplog
) -> None:
    """A client that offers its token alone is warned about, with the token replaced."""
    offered = token("vera", "viewer")
    with caplog.at_level(logging.WARNING):
        ws = await gateway.ws_connect(f"/ws/auctions/{LAMP}/", protocols=(offered,))
        assert ws.protocol is None
        await ws.close()
    assert "overlap server-known" in caplog.text
    assert offered not in caplog.text and "<token>" in caplog.text
