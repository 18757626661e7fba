"""The gateway demo's picture for the dashboard: built from records, heartbeats and the ring
(pure), and read from the session's real Redis (auctions, keys, revocations, bots)."""

import json

import redis

from archviz.core.registry import Metrics, Registration
from archviz.gateway import auction, compare, signing_keys
from archviz.gateway import keys as gateway_keys
from archviz.gateway.state import RECENT_UPDATES, RingRead, build_gateway, read_gateway

NOW_MS = 1_700_000_000_000
NOW_S = NOW_MS / 1000


def _reg(kind: str, cid: str, port: int = 9000) -> Registration:
    return Registration(id=cid, kind=kind, pid=100, host="127.0.0.1", port=port, started_at=NOW_MS)


def _empty_ring(**fields: object) -> RingRead:
    base = RingRead({}, None, 0, None, None, None, [], {})
    return base._replace(**fields)


EDGE_EXTRA = {
    "websockets": 3,
    "subscriptions": {"lamp": 2, "camera": 1},
    "requests": {"ok": 10, "401": 2},
    "denied": {"401": 2},
    "token_errors": {"expired": 1, "bad_signature": 1},
    "reached": {"catalog": 8},
    "closes": {"4010": 1},
    "retries": 1,
    "limiter_errors": 0,
}


def test_replicas_carry_their_sockets_subscriptions_and_verdicts() -> None:
    """Each gateway replica: its life from the supervisor, its counts from its heartbeat,
    its health from the balancer's gateway listener; in natural order."""
    records = {
        "gateway-10": {"kind": "gateway", "status": "down", "detail": "restarting in 1.0 s"},
        "gateway-2": {"kind": "gateway", "status": "up", "pid": 42, "port": 8301, "restarts": 1},
    }
    balancer = Metrics(id="lb", ts=NOW_MS, extra={"gateway_listener": {
        "port": 8200, "backends": [{"id": "gateway-2", "health": "healthy"}]}})  # fmt: skip
    metrics = {"gateway-2": Metrics(id="gateway-2", ts=NOW_MS, extra=EDGE_EXTRA), "lb": balancer}
    registrations = [_reg("gateway", "gateway-2"), _reg("balancer", "lb")]
    view = build_gateway(records, registrations, metrics, _empty_ring(), NOW_MS)
    assert view["entry_port"] == 8200
    assert view["services_port"] is None
    first, second = view["replicas"]
    assert (first["id"], second["id"]) == ("gateway-2", "gateway-10")
    assert first["status"] == "up" and first["pid"] == 42 and first["health"] == "healthy"
    assert first["subscriptions"] == {"lamp": 2, "camera": 1}
    assert first["websockets"] == 3 and first["denied"] == {"401": 2} and first["retries"] == 1
    assert second["status"] == "down" and second["detail"] == "restarting in 1.0 s"
    assert second["websockets"] == 0 and second["subscriptions"] == {}
    assert second["health"] == "unknown"


def test_services_by_kind_with_their_counts_and_what_reached_them() -> None:
    """auth, then catalog, then bidding; counts kept whole, odd values dropped."""
    records = {
        "bidding-1": {"kind": "bidding", "status": "up"},
        "catalog-1": {"kind": "catalog", "status": "starting"},
        "auth-1": {"kind": "auth", "status": "up"},
        "node-1": {"kind": "node", "status": "up"},
    }
    metrics = {
        "auth-1": Metrics(id="auth-1", ts=NOW_MS, extra={"issued": 4, "refused": {"forbidden": 1}}),
        "catalog-1": Metrics(id="catalog-1", ts=NOW_MS, connections=2, rps=1.5,
                             extra={"reached_by_token": {"valid": 3, "forged": 1, "x": "no"}}),
        "bidding-1": Metrics(id="bidding-1", ts=NOW_MS,
                             extra={"accepted": 5, "refused": {"too_low": 2}}),
    }  # fmt: skip
    view = build_gateway(records, [], metrics, _empty_ring(), NOW_MS)
    services = {s["id"]: s for s in view["services"]}
    assert [s["kind"] for s in view["services"]] == ["auth", "catalog", "bidding"]
    assert services["auth-1"]["counts"] == {"issued": 4, "refused:forbidden": 1}
    assert services["catalog-1"]["status"] == "up"  # it sends heartbeats: started
    assert services["catalog-1"]["reached_by_token"] == {"valid": 3, "forged": 1}
    assert services["catalog-1"]["in_flight"] == 2 and services["catalog-1"]["rps"] == 1.5
    assert services["bidding-1"]["counts"] == {"accepted": 5, "refused:too_low": 2}


def test_the_bypass_listener_port_and_the_catalogs_health_come_from_the_balancer() -> None:
    listener = {"port": 8300, "backends": [{"id": "catalog-1", "health": "ejected"}]}
    balancer = Metrics(id="lb", ts=NOW_MS, extra={"services_listener": listener})
    records = {"catalog-1": {"kind": "catalog", "status": "up"}, "auth-1": {"kind": "auth"}}
    view = build_gateway(records, [_reg("balancer", "lb")], {"lb": balancer}, _empty_ring(), NOW_MS)
    assert view["services_port"] == 8300 and view["entry_port"] is None
    health = {s["id"]: s["health"] for s in view["services"]}
    assert health == {"auth-1": "unknown", "catalog-1": "ejected"}


def test_keys_show_their_state_never_their_material() -> None:
    """Current, retiring (still verifying) and retired keys, the newest first; no JWK."""
    record = lambda created, retire_at: json.dumps(  # noqa: E731
        {"jwk": {"kid": "x", "x": "SECRET-LOOKING"}, "created": created, "retire_at": retire_at}
    ).encode()
    ring = _empty_ring(
        public_keys={b"new": record(NOW_S, None), b"mid": record(NOW_S - 10, NOW_S + 60),
                     b"old": record(NOW_S - 20, NOW_S - 1), b"bad": b"{not json"},
        current_kid=b"new",
    )  # fmt: skip
    view = build_gateway({}, [], {}, ring, NOW_MS)
    assert [(k["kid"], k["state"]) for k in view["keys"]] == [
        ("new", "current"), ("mid", "retiring"), ("old", "retired")]  # fmt: skip
    assert "SECRET-LOOKING" not in json.dumps(view)


def test_bots_view_survives_a_missing_or_garbled_snapshot() -> None:
    garbled = build_gateway({}, [], {}, _empty_ring(bots_asked=b"x", bots_view=b"[1"), NOW_MS)
    assert garbled["bots"] == {"asked": 0, "running": 0, "connected": 0, "bids": 0,
                               "accepted": 0, "up": False}  # fmt: skip
    view = json.dumps({"bots": 3, "connected": 2, "bids": 9, "accepted": 4}).encode()
    bots = build_gateway({}, [], {}, _empty_ring(bots_asked=b"3", bots_view=view), NOW_MS)["bots"]
    assert bots == {"asked": 3, "running": 3, "connected": 2, "bids": 9, "accepted": 4, "up": True}


def test_read_from_redis_auctions_with_their_last_updates_and_the_ring(
    redis_client: redis.Redis,
) -> None:
    """Real Redis: an auction's highest bid, bidder and newest updates; one closed with its
    winner; the current key and a revocation counted."""
    ends = NOW_MS + 60_000
    auction.open_auction(redis_client, "lamp", "Desk lamp", 1_000, ends, NOW_MS)
    auction.open_auction(redis_client, "map", "Old map", 500, NOW_MS + 1_000, NOW_MS)
    for n in range(RECENT_UPDATES + 2):
        auction.place_bid(redis_client, "lamp", f"bidder-{n}", 1_000 + 100 * n, NOW_MS)
    auction.place_bid(redis_client, "map", "ada", 600, NOW_MS)
    auction.close_due(redis_client, NOW_MS + 2_000)
    key = signing_keys.current_signing_key(redis_client, NOW_S)
    signing_keys.revoke(redis_client, "a" * 20, NOW_S, exp=NOW_S + 300)
    redis_client.set(gateway_keys.BOTS, 2)
    view = read_gateway(redis_client, {}, [], {}, NOW_MS + 2_000)
    by_id = {a["id"]: a for a in view["auctions"]}
    lamp = by_id["lamp"]
    assert lamp["highest_cents"] == 1_000 + 100 * (RECENT_UPDATES + 1)
    assert lamp["bidder"] == f"bidder-{RECENT_UPDATES + 1}" and not lamp["closed"]
    assert len(lamp["recent"]) == RECENT_UPDATES
    assert lamp["recent"][0]["seq"] == lamp["seq"] and lamp["recent"][0]["type"] == "bid"
    assert by_id["map"]["closed"] and by_id["map"]["winner"] == "ada"
    assert by_id["map"]["recent"][0]["type"] == "closed"
    assert [(k["kid"], k["state"]) for k in view["keys"]] == [(key.kid, "current")]
    assert view["revoked"] == 1 and view["expired_before"] is None
    assert view["bots"]["asked"] == 2 and not view["bots"]["up"]
    assert view["compare"] is None


def test_the_class_comparison_is_shown_when_readable() -> None:
    """An instructor's run kept in Redis is every page's; garbage there is no run."""
    run = {"rows": [], "conclusion": "Through the gateway 0 of 4 ..."}
    shown = build_gateway({}, [], {}, _empty_ring(compare=json.dumps(run).encode()), NOW_MS)
    assert shown["compare"] == run
    assert build_gateway({}, [], {}, _empty_ring(compare=b"{oops"), NOW_MS)["compare"] is None


def test_each_class_run_is_numbered_and_every_page_reads_the_latest(
    redis_client: redis.Redis,
) -> None:
    """The lesson waits for the class's run number to rise (gateway.class_runs), not for a
    unix time a learner would be shown."""
    run = {"rows": [], "conclusion": "Through the gateway 0 of 4 ...", "ts": NOW_MS}
    assert compare.keep_for_class(redis_client, run)["run"] == 1
    assert compare.keep_for_class(redis_client, run | {"ts": NOW_MS + 1})["run"] == 2
    shown = read_gateway(redis_client, {}, [], {}, NOW_MS)["compare"]
    assert (shown["run"], shown["ts"]) == (2, NOW_MS + 1)
    assert 0 < redis_client.pttl(compare.RUNS) <= compare.LAST_KEPT_MS
