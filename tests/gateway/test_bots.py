"""The bidding bots against the real auth service (`manage.py auth`): their tokens, renewed
and waited for; then a fleet bidding through a small stand-in for the gateway (the real
one is not in this branch) that verifies their tokens, watches the real auction's channel
and places real bids in Redis."""

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestServer

from archviz.core.http import LAB_CLIENT_HEADER, is_lab_client
from archviz.core.redis_conn import async_blocking_client
from archviz.gateway import auction, bidder, catalog, keys, signing_keys
from archviz.gateway.bearer import bearer_from_header, bearer_from_subprotocols
from archviz.gateway.bidbots import RENEW_MARGIN_S
from archviz.gateway.bidder import BidBot, BidderFleet, FleetStats, Trouble
from archviz.gateway.bids import parse_amount
from archviz.gateway.signing_keys import KeyFollower
from archviz.gateway.tokens import TokenError
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.trace.events import now_ms
from tests.harness.processes import ManagePy, command_env
from tests.harness.wait_for import async_wait_for

integration = pytest.mark.integration


class HandClock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def auth_url(redis_server: EmbeddedRedis, redis_client: redis.Redis) -> Iterator[str]:
    """`manage.py auth --id auth-1` as a real process: its base URL."""
    env = command_env(REDIS_URL=redis_server.url)
    with ManagePy("auth", "--id", "auth-1", env=env, name="auth-1") as process:
        yield f"http://127.0.0.1:{process.wait_registered(redis_client, 'auth').port}"


def _verified(redis_client: redis.Redis, token: str) -> dict:
    follower = KeyFollower()
    follower.refresh(redis_client, time.monotonic(), time.time())
    return dict(follower.verify(token, now=time.time(), mono=time.monotonic()))


@integration
async def test_a_bot_gets_a_bidder_token_and_renews_it_when_due(
    auth_url: str, redis_client: redis.Redis
) -> None:
    """Its own name, the bidder's role; kept until its renewal time, then a new one."""
    clock = HandClock()
    bot = BidBot("bidbot-1", lambda: auth_url, FleetStats(), clock=clock)
    async with aiohttp.ClientSession() as session:
        token = await bot.fresh_token(session)
        assert await bot.fresh_token(session) is token
        clock.now = token.renew_at
        renewed = await bot.fresh_token(session)
    assert renewed.value != token.value and bot.stats.tokens == 2
    claims = _verified(redis_client, renewed.value)
    assert (claims["sub"], claims["role"]) == ("bidbot-1", "bidder")
    assert token.expires_at - token.renew_at >= RENEW_MARGIN_S


@integration
async def test_a_bot_refused_a_token_waits_the_retry_after(auth_url: str) -> None:
    """A flooded auth service answers 429: the bot is told how long to wait."""
    bot = BidBot("bidbot-1", lambda: auth_url, FleetStats())
    async with aiohttp.ClientSession() as session:
        with pytest.raises(Trouble) as refused:
            for _ in range(20):
                await bot.fresh_token(session)
                bot.token = None
    assert str(refused.value).startswith("no token: 429 too many auth-token requests")
    assert refused.value.retry_after_s is not None and refused.value.retry_after_s >= 1


# --- through a stand-in for the gateway --------------------------------------------------------


class StandIn:
    """The gateway's part the bots use: the catalog's real application, plus token relay,
    the auction socket and bids, each token verified as a replica would."""

    def __init__(self, redis_client: redis.Redis, redis_url: str, auth_url: str) -> None:
        self.client, self.redis_url, self.auth_url = redis_client, redis_url, auth_url
        self.follower = KeyFollower()
        self.lab_clients: set[bool] = set()
        self.sockets = self.sent = 0
        self.app = catalog.make_app("catalog-1", lambda: redis_client)
        self.app.router.add_post("/auth/token", self.token)
        self.app.router.add_get("/ws/auctions/{auction_id}/", self.watch)
        self.app.router.add_post("/auctions/{auction_id}/bids", self.bid)

    def verify(self, token: str) -> dict:
        self.follower.refresh(self.client, time.monotonic(), time.time())
        return dict(self.follower.verify(token, now=time.time(), mono=time.monotonic()))

    async def token(self, request: web.Request) -> web.Response:
        self.lab_clients.add(is_lab_client(request.headers.get(LAB_CLIENT_HEADER)))
        async with aiohttp.ClientSession() as session:
            relayed = await session.post(f"{self.auth_url}/auth/token", data=await request.read())
            return web.Response(status=relayed.status, body=await relayed.read(),
                                content_type="application/json")  # fmt: skip

    async def watch(self, request: web.Request) -> web.StreamResponse:
        offered = bearer_from_subprotocols(request.headers.get("Sec-WebSocket-Protocol"))
        try:
            self.verify(offered.token if offered else "")
        except TokenError as exc:
            return web.json_response({"error": exc.error}, status=401)
        ws = web.WebSocketResponse(protocols=("bearer",))
        await ws.prepare(request)
        self.sockets += 1
        channel = keys.auction_channel(request.match_info["auction_id"])
        client = async_blocking_client(self.redis_url)
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            reader = asyncio.create_task(ws.receive())  # ends when the bot closes
            while not reader.done():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                if message is not None:
                    await ws.send_str(message["data"].decode())
                    self.sent += 1
            reader.cancel()
        await client.aclose()
        return ws

    async def bid(self, request: web.Request) -> web.Response:
        try:
            claims = self.verify(bearer_from_header(request.headers.get("Authorization")))
        except TokenError as exc:
            return web.json_response({"error": exc.error}, status=401)
        cents = parse_amount((await request.json())["amount"])
        result = auction.place_bid(self.client, request.match_info["auction_id"],
                                   claims["sub"], cents, now_ms())  # fmt: skip
        body = {"highest_cents": result.highest_cents, "highest_bidder": result.bidder,
                "seq": result.seq}  # fmt: skip
        return web.json_response(body, status=200 if result.outcome == "accepted" else 409)


@pytest.fixture
async def gateway(
    auth_url: str, redis_client: redis.Redis, redis_url: str
) -> AsyncIterator[tuple[str, StandIn]]:
    """The stand-in on a test server, one auction open in Redis: its base URL."""
    start = int(now_ms())
    auction.open_auction(redis_client, "test-lamp", "Lamp", 1_000, start + 600_000, start)
    stand_in = StandIn(redis_client, redis_url, auth_url)
    async with TestServer(stand_in.app) as server:
        yield str(server.make_url("")).rstrip("/"), stand_in


def _bids(redis_client: redis.Redis) -> list[dict]:
    updates = auction.updates_since(redis_client, "test-lamp", 0).updates
    return [u for u in updates if u["type"] == "bid"]


@integration
async def test_a_fleet_bids_against_itself_each_a_little_higher(
    gateway: tuple[str, StandIn], redis_client: redis.Redis, monkeypatch
) -> None:
    """Two bots watch the auction on sockets, outbid each other (never themselves) and
    follow the highest from the socket; a token refused after expire-all is replaced."""
    monkeypatch.setattr(bidder, "BID_EVERY_S", (0.05, 0.15))
    base, stand_in = gateway
    fleet = BidderFleet(lambda: base)
    fleet.resize(2)
    try:
        bids = await async_wait_for(lambda: _bids(redis_client), "6 bids", 20,
                                    until=lambda b: len(b) >= 6)  # fmt: skip
        amounts = [b["amount_cents"] for b in bids]
        assert amounts[0] == 1_000 and amounts == sorted(set(amounts))
        assert {b["bidder"] for b in bids} == {"bidbot-1", "bidbot-2"}
        assert all(a["bidder"] != b["bidder"] for a, b in itertools.pairwise(bids))
        assert stand_in.lab_clients == {True} and stand_in.sockets >= 2
        tokens_before = fleet.stats.tokens
        signing_keys.expire_all(redis_client, time.time())
        stand_in.follower.mark_stale()  # as a replica does on the KEYS_CHANGED notice
        seen = len(_bids(redis_client))
        await async_wait_for(lambda: _bids(redis_client), "bids on new tokens", 20,
                             until=lambda b: len(b) >= seen + 2)  # fmt: skip
        assert fleet.stats.tokens >= tokens_before + 1 and fleet.stats.refused.get("401")
        view = fleet.snapshot()
        assert view["bots"] == 2 and view["accepted"] >= 8 and view["bids"] >= view["accepted"]
        assert view["watching"] == {"test-lamp": 2} and stand_in.sent >= 8
    finally:
        with contextlib.suppress(Exception):
            await fleet.close()
    assert fleet.bots == [] and json.dumps(fleet.snapshot())
