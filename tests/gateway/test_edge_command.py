"""`manage.py gateway` as real processes: two replicas in front of `manage.py catalog` and
`manage.py bidding` on the session's Redis, found through the registry (vouched for, as the
supervisor would). What crosses processes: bids over gRPC, one rate limit bucket for both
replicas, watchers on either replica fed by a bid through either, a SIGKILLed replica's
watcher catching up on the other, and a revocation refused by both."""

import signal
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core import close_codes, registry
from archviz.core.control import send_command
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.core.redis_conn import sync_client
from archviz.core.registry import Registration, latest_metrics, lookup
from archviz.gateway import signing_keys, tokens
from archviz.gateway.auction import open_auction
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.trace.events import now_ms
from tests.harness.processes import ManagePy, command_env, stop_all
from tests.harness.wait_for import wait_for

integration = pytest.mark.integration
MINUTE_MS = 60_000
SERVICES = (("catalog", "catalog-1"), ("bidding", "bidding-1"))
GATEWAYS = ("gateway-1", "gateway-2")


@dataclass
class Stack:
    redis: redis.Redis
    url: str
    processes: dict[str, ManagePy]
    registrations: dict[str, Registration]

    def gateway(self, component_id: str) -> str:
        return f"http://127.0.0.1:{self.registrations[component_id].port}"

    def start(self, kind: str, component_id: str) -> Registration:
        """Start one more component, wait for its registration and vouch for it."""
        process = ManagePy(
            kind, "--id", component_id, env=command_env(REDIS_URL=self.url), name=component_id
        )
        self.processes[component_id] = process
        return self._vouched(process, kind)

    def _vouched(self, process: ManagePy, kind: str) -> Registration:
        found = process.wait_registered(self.redis, kind)
        registry.vouch(self.redis, found.id, found.kind, found.pid, found.port)
        self.registrations[found.id] = found
        return found


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    """catalog-1, bidding-1, gateway-1 and gateway-2, started at once, for the module."""
    client = sync_client(redis_server.url)
    client.flushdb()
    env = command_env(REDIS_URL=redis_server.url)
    kinds = {cid: kind for kind, cid in SERVICES} | dict.fromkeys(GATEWAYS, "gateway")
    processes = {cid: ManagePy(kind, "--id", cid, env=env, name=cid) for cid, kind in kinds.items()}
    running = Stack(client, redis_server.url, processes, {})
    try:
        for component_id, kind in kinds.items():
            running._vouched(processes[component_id], kind)
        yield running
    finally:
        stop_all(running.processes.values())


@pytest.fixture(scope="module")
def key(stack: Stack) -> tokens.SigningKey:
    return signing_keys.current_signing_key(stack.redis, time.time())


def token(key: tokens.SigningKey, name: str, role: str = "bidder", **options) -> str:
    return tokens.issue(name, role, key, options.pop("now", time.time()), **options)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _wait_until_both_reach_bidding(stack: Stack, key: tokens.SigningKey) -> None:
    """A bid on no auction: bidding's 404 through each replica, not the gateway's 503."""
    for component_id in GATEWAYS:
        url = stack.gateway(component_id) + "/auctions/edge-none/bids"
        probe = bearer(token(key, f"probe-{component_id}"))

        def status(url: str = url, probe: dict = probe) -> int:
            request = urllib.request.Request(url, b'{"amount": 1}', probe, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.status
            except urllib.error.HTTPError as refused:
                return refused.code

        wait_for(status, f"{component_id} reaching bidding", 20, until=lambda s: s == 404)


@pytest.fixture(scope="module")
def ready(stack: Stack, key: tokens.SigningKey) -> Stack:
    _wait_until_both_reach_bidding(stack, key)
    return stack


@pytest.fixture
async def http(ready: Stack) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def auction(stack: Stack, auction_id: str) -> str:
    now = now_ms()
    open_auction(stack.redis, auction_id, "Edge item", 1_000, int(now) + 10 * MINUTE_MS, now)
    return auction_id


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10) -> dict:
    message = await ws.receive(timeout=timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, (message.type, message.data)
    return message.json()


async def watch(
    session: aiohttp.ClientSession,
    stack: Stack,
    component_id: str,
    auction_id: str,
    bearer_token: str,
    after: int | None = None,
):
    query = "" if after is None else f"?after={after}"
    url = f"{stack.gateway(component_id)}/ws/auctions/{auction_id}/{query}"
    ws = await session.ws_connect(url, protocols=("bearer", bearer_token))
    welcome = await receive(ws)
    assert (welcome["type"], welcome["replica"]) == ("welcome", component_id)
    return ws, welcome


async def place(
    session: aiohttp.ClientSession,
    stack: Stack,
    component_id: str,
    auction_id: str,
    amount: object,
    bearer_token: str,
) -> tuple[int, dict]:
    url = f"{stack.gateway(component_id)}/auctions/{auction_id}/bids"
    async with session.post(url, json={"amount": amount}, headers=bearer(bearer_token)) as r:
        return r.status, await r.json()


# --- bids over gRPC ------------------------------------------------------------------------


@integration
async def test_a_good_bid_is_accepted_and_a_lower_one_is_a_409_with_the_current_highest(
    stack: Stack, http: aiohttp.ClientSession, key
) -> None:
    """The bidder is the token's subject; the refusal carries the highest bid from the
    bidding service's trailing metadata."""
    lot = auction(stack, "edge-bid")
    status, accepted = await place(http, stack, "gateway-1", lot, 50, token(key, "alice"))
    assert status == 201, accepted
    assert (accepted["highest_cents"], accepted["highest_bidder"], accepted["seq"]) == (
        5_000,
        "alice",
        2,
    )
    status, refused = await place(http, stack, "gateway-2", lot, "45.00", token(key, "bob"))
    assert status == 409
    assert (refused["error"], refused["service"]) == ("aborted", "bidding")
    assert (refused["highest_cents"], refused["highest"], refused["highest_bidder"]) == (
        5_000,
        "50.00",
        "alice",
    )


@integration
async def test_a_bad_amount_is_a_400_from_the_gateway(
    stack: Stack, http: aiohttp.ClientSession, key
) -> None:
    status, refused = await place(http, stack, "gateway-1", "edge-bid", -3, token(key, "alice"))
    assert (status, refused["error"]) == (400, "bad_request")
    assert "more than zero" in refused["message"]


# --- shared by both replicas -----------------------------------------------------------------


@integration
async def test_both_replicas_draw_from_one_rate_limit_bucket(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    """A consumer that emptied its bucket through gateway-1 is refused by gateway-2 too (the
    token route: 5 at once, 1 a second, per address; no auth service runs: 503 naming auth
    until then)."""
    relayed = {LAB_CLIENT_HEADER: lab_client_token(), "X-Forwarded-For": "10.20.30.40"}
    asked = {"name": "carol", "role": "viewer"}
    statuses = []
    for _ in range(10):
        async with http.post(
            stack.gateway("gateway-1") + "/auth/token", json=asked, headers=relayed
        ) as response:
            statuses.append(response.status)
            if response.status == 503:
                assert (await response.json())["service"] == "auth"
            if response.status == 429:
                break
    assert statuses[:5] == [503] * 5 and statuses[-1] == 429
    async with http.post(
        stack.gateway("gateway-2") + "/auth/token", json=asked, headers=relayed
    ) as response:
        assert response.status == 429
        assert response.headers["RateLimit"].startswith('"token";r=0;')


def _bid_policies(stack: Stack) -> dict[str, dict]:
    """The bid policy in force on each replica, as its heartbeat reports it."""
    found = latest_metrics(stack.redis, list(GATEWAYS))
    return {cid: m.extra.get("policies", {}).get("bid", {}) for cid, m in found.items()}


async def _bid_statuses(http: aiohttp.ClientSession, stack: Stack, bidder: str, n: int):
    """n bids on no auction, alternating replicas: the statuses and the last RateLimit-Policy
    (the bidding service answers 404 for a bid that passed the limit)."""
    statuses, policy = [], ""
    for i in range(n):
        url = stack.gateway(GATEWAYS[i % 2]) + "/auctions/edge-none/bids"
        async with http.post(url, json={"amount": 1}, headers=bearer(bidder)) as answer:
            statuses.append(answer.status)
            policy = answer.headers.get("RateLimit-Policy", "")
    return statuses, policy


@integration
async def test_a_tightened_bid_limit_applies_on_both_replicas_and_reset_restores_it(
    stack: Stack, http: aiohttp.ClientSession, key
) -> None:
    """gateway.limit {bid: 0.1 a second, 2 at once}: within a second both replicas report it,
    the third bid (through either) is a 429 under the new policy; reset: the default again
    (a new bidder gets its 6)."""
    tight = {"type": "gateway.limit", "policy": "bid", "rate": 0.1, "burst": 2, "by": "t"}
    assert send_command(stack.redis, tight) >= 2  # both replicas listen
    wait_for(
        lambda: _bid_policies(stack),
        "both replicas on the new policy",
        5,
        until=lambda p: len(p) == 2 and all(b.get("burst") == 2 for b in p.values()),
    )
    statuses, policy = await _bid_statuses(http, stack, token(key, "tina"), 3)
    assert statuses == [404, 404, 429]
    assert policy == '"bid";q=2;w=20'
    assert send_command(stack.redis, {"type": "gateway.limit", "reset": True, "by": "t"}) >= 2
    wait_for(
        lambda: _bid_policies(stack),
        "both replicas back on the default",
        5,
        until=lambda p: len(p) == 2 and all(b.get("default") for b in p.values()),
    )
    statuses, policy = await _bid_statuses(http, stack, token(key, "tom"), 7)
    assert statuses == [404] * 6 + [429]
    assert policy == '"bid";q=6;w=3'


@integration
async def test_two_watchers_on_two_replicas_both_get_a_bid_placed_through_either(
    stack: Stack, http: aiohttp.ClientSession, key
) -> None:
    lot = auction(stack, "edge-watch")
    one, _ = await watch(http, stack, "gateway-1", lot, token(key, "vera", "viewer"))
    two, _ = await watch(http, stack, "gateway-2", lot, token(key, "walt", "viewer"))
    for via, amount in (("gateway-1", 20), ("gateway-2", 30)):
        status, _ = await place(http, stack, via, lot, amount, token(key, "alice"))
        assert status == 201
    for ws in (one, two):
        updates = [(await receive(ws))["update"] for _ in range(2)]
        assert [(u["seq"], u["amount_cents"]) for u in updates] == [(2, 2_000), (3, 3_000)]
        await ws.close()


@integration
async def test_subscriptions_are_reference_counted_in_the_heartbeat_metrics(
    stack: Stack, http: aiohttp.ClientSession, key
) -> None:
    """Two watchers of one auction and one of another: refs 2 and 1; none once they leave."""
    first, second = auction(stack, "edge-refs-a"), auction(stack, "edge-refs-b")
    viewer = token(key, "vera", "viewer")
    sockets = [
        (await watch(http, stack, "gateway-1", lot, viewer))[0] for lot in (first, first, second)
    ]

    def extra() -> dict:
        return latest_metrics(stack.redis, ["gateway-1"])["gateway-1"].extra

    seen = wait_for(
        extra,
        "the refs in the metrics",
        until=lambda e: e["subscriptions"] == {first: 2, second: 1},
    )
    assert seen["websockets"] == 3
    assert seen["requests"]["ok"] >= 3 and seen["reached"]["bidding"] >= 1
    for ws in sockets:
        await ws.close()
    wait_for(extra, "no subscription left", until=lambda e: e["subscriptions"] == {})


# --- failures --------------------------------------------------------------------------------


@integration
async def test_a_killed_replicas_watcher_catches_up_on_the_other_with_no_gap(
    stack: Stack, http: aiohttp.ClientSession, key
) -> None:
    """gateway-3 is SIGKILLed under its watcher; two bids go through gateway-1 meanwhile; the
    watcher reconnects to gateway-1 after the last seq it saw and gets exactly those."""
    stack.start("gateway", "gateway-3")
    lot = auction(stack, "edge-kill")
    viewer = token(key, "vera", "viewer")
    ws, welcome = await watch(http, stack, "gateway-3", lot, viewer)
    last_seen = welcome["auction"]["seq"]
    stack.processes["gateway-3"].stop(signal.SIGKILL)
    dropped = await ws.receive(timeout=10)
    assert dropped.type in (
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.ERROR,
    )
    for amount in (20, 25):
        assert (await place(http, stack, "gateway-1", lot, amount, token(key, "bob")))[0] == 201
    again, welcome = await watch(http, stack, "gateway-1", lot, viewer, after=last_seen)
    caught_up = [await receive(again), await receive(again)]
    assert [(f["update"]["seq"], f["replayed"]) for f in caught_up] == [
        (last_seen + 1, True),
        (last_seen + 2, True),
    ]
    assert (await place(http, stack, "gateway-2", lot, 30, token(key, "bob")))[0] == 201
    live = await receive(again)
    assert (live["update"]["seq"], live["replayed"]) == (last_seen + 3, False)
    await again.close()


@integration
async def test_a_revoked_token_is_refused_by_both_replicas_and_its_sockets_closed(
    stack: Stack, http: aiohttp.ClientSession, key
) -> None:
    lot = auction(stack, "edge-revoke")
    doomed = token(key, "mallory", "viewer", jti="edge-revoked-0123456789")
    sockets = [(await watch(http, stack, cid, lot, doomed))[0] for cid in GATEWAYS]
    signing_keys.revoke(stack.redis, "edge-revoked-0123456789", time.time())
    for ws in sockets:  # the code of the close frame (the other may have waited unread)
        closing = await ws.receive(timeout=10)
        assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, close_codes.TOKEN_REVOKED)
    for component_id in GATEWAYS:
        url = stack.gateway(component_id) + "/catalog/auctions"
        async with http.get(url, headers=bearer(doomed)) as response:
            assert response.status == 401
            assert (await response.json())["error"] == "revoked"


@integration
def test_sigterm_stops_it_and_takes_it_out_of_the_registry(stack: Stack) -> None:
    stack.start("gateway", "gateway-9")
    process = stack.processes["gateway-9"]
    process.stop(timeout=10)
    assert process.returncode == 0, process.output()
    assert lookup(stack.redis, "gateway", "gateway-9") is None


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("gateway", id="gateway-1")


def test_its_id_is_required() -> None:
    with pytest.raises(CommandError, match="the following arguments are required: --id"):
        call_command("gateway")


def test_a_taken_port_is_refused_naming_it(listening_port: int) -> None:
    with pytest.raises(CommandError, match=f"port {listening_port} .* already in use"):
        call_command("gateway", id="gateway-1", port=listening_port, host="127.0.0.1")
