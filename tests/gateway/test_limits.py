"""The gateway's rate limits: one bucket per consumer per class of routes in the real Redis,
shared by the replicas, and the RateLimit-Policy / RateLimit numbers it reports."""

import re

import pytest
import redis

from archviz.core.redis_conn import async_client, sync_client
from archviz.gateway import keys, limits
from archviz.gateway.limits import POLICIES, Policy, Verdict
from archviz.gateway.routes import ROUTES

BID = POLICIES["bid"]  # 2 a second, 6 at once


def test_every_route_class_has_a_policy_with_a_plain_name() -> None:
    """Each class the route table uses has a policy; names need no sf-string escaping."""
    assert {route.rate_class for route in ROUTES} <= set(POLICIES)
    for name, policy in POLICIES.items():
        assert policy.name == name and re.fullmatch(r"[a-z][a-z0-9-]*", name)
        assert policy.rate > 0 and policy.burst >= 1


@pytest.mark.parametrize(
    ("policy", "header"),
    [
        (Policy("read", 10, 20), '"read";q=20;w=2'),
        (Policy("bid", 2, 6), '"bid";q=6;w=3'),
        (Policy("odd", 2, 5), '"odd";q=5;w=3'),  # the window is whole seconds, rounded up
        (Policy("fast", 100, 20), '"fast";q=20;w=1'),  # never 0 (the draft: non-zero)
    ],
)
def test_a_policy_header_is_the_burst_per_fill_time(policy, header) -> None:
    """q is what the bucket holds, w the seconds an empty one takes to fill."""
    assert policy.header() == header


@pytest.mark.parametrize(
    ("level", "remaining", "reset_s"),
    [
        (6.0, 6, 0),  # full: nothing is coming because nothing is missing
        (5.0, 5, 1),  # the next token in 0.5 s
        (4.5, 4, 1),
        (0.2, 0, 1),
        (0.0, 0, 1),
        (-0.001, 0, 1),  # a float's error below zero reads as none left
    ],
)
def test_an_allowed_request_reports_whole_tokens_left_and_the_next_one(
    level, remaining, reset_s
) -> None:
    """r is the whole tokens left; t the seconds (rounded up) until there is one more."""
    verdict = limits.allowed(BID, level)
    assert (verdict.allowed, verdict.remaining, verdict.reset_s) == (True, remaining, reset_s)
    assert verdict.retry_after_s == 0.0


def test_a_slow_refill_reports_its_wait() -> None:
    """At one token every 10 s, an empty bucket's next token is 10 s away."""
    verdict = limits.allowed(Policy("slow", 0.1, 3), 0.0)
    assert (verdict.remaining, verdict.reset_s) == (0, 10)


@pytest.mark.parametrize(("wait", "reset_s"), [(0.001, 1), (0.5, 1), (2.2, 3)])
def test_a_refusal_has_nothing_left_and_t_equal_to_retry_after(wait, reset_s) -> None:
    """r=0 and t = Retry-After, so Retry-After is not before the window's end (draft §6)."""
    verdict = limits.refused(BID, wait)
    assert (verdict.allowed, verdict.remaining, verdict.reset_s) == (False, 0, reset_s)
    assert verdict.denial().header("Retry-After") == str(reset_s)


def test_the_headers_are_the_drafts() -> None:
    """RateLimit-Policy names the policy's quota and window, RateLimit what is left."""
    assert Verdict(True, BID, 4, 1, 0.0).headers() == [
        ("RateLimit-Policy", '"bid";q=6;w=3'),
        ("RateLimit", '"bid";r=4;t=1'),
    ]


def test_a_refusal_is_a_429_saying_the_limit_and_the_wait() -> None:
    """The denial carries Retry-After, both headers and the limit in words."""
    denied = limits.refused(BID, 0.4).denial()
    assert denied.status == 429
    assert denied.header("Retry-After") == "1"
    assert denied.header("RateLimit") == '"bid";r=0;t=1'
    assert denied.header("RateLimit-Policy") == '"bid";q=6;w=3'
    assert denied.body["message"] == (
        "too many bid requests: at most 2 a second (6 at once); try again in 0.4 s"
    )


def test_the_consumer_is_the_subject_else_the_address() -> None:
    """A token's sub names the bucket; without a token, the client's address does."""
    assert limits.consumer("ada", "10.0.0.1") == "user:ada"
    assert limits.consumer(None, "10.0.0.1") == "address:10.0.0.1"
    assert limits.consumer("", "") == "address:unknown"
    assert len(limits.consumer(None, "f" * 200)) == limits.MAX_CONSUMER_CHARS
    assert limits.bucket("bid", "user:ada").key == keys.rate_bucket("bid", "user:ada")


def test_two_replicas_draw_from_one_bucket(redis_url: str) -> None:
    """Two gateway replicas (two clients) share a consumer's bucket: 6 bids in all pass,
    alternating between them, the 7th is refused on either, and r counts down across both."""
    replicas = [sync_client(redis_url), sync_client(redis_url)]
    seen = []
    for i in range(BID.burst):
        verdict = limits.check(replicas[i % 2], "bid", "user:ada", now_ms=1_000)
        seen.append((verdict.allowed, verdict.remaining))
    assert seen == [(True, 5), (True, 4), (True, 3), (True, 2), (True, 1), (True, 0)]
    for client in replicas:
        verdict = limits.check(client, "bid", "user:ada", now_ms=1_000)
        assert (verdict.allowed, verdict.retry_after_s, verdict.reset_s) == (False, 0.5, 1)


async def test_a_replica_on_the_loop_and_one_in_a_thread_share_the_bucket(redis_url: str) -> None:
    """check_async (the replicas' hot path) and check draw from one bucket, with the same
    verdicts: r counts down across both, and the 7th bid is refused on either."""
    on_loop, in_thread = async_client(redis_url), sync_client(redis_url)
    try:
        seen = []
        for i in range(BID.burst):
            if i % 2:
                verdict = limits.check(in_thread, "bid", "user:ada", now_ms=1_000)
            else:
                verdict = await limits.check_async(on_loop, "bid", "user:ada", now_ms=1_000)
            seen.append((verdict.allowed, verdict.remaining))
        assert seen == [(True, 5), (True, 4), (True, 3), (True, 2), (True, 1), (True, 0)]
        refused = await limits.check_async(on_loop, "bid", "user:ada", now_ms=1_000)
        assert (refused.allowed, refused.retry_after_s, refused.reset_s) == (False, 0.5, 1)
        assert not limits.check(in_thread, "bid", "user:ada", now_ms=1_000).allowed
    finally:
        await on_loop.aclose()


async def test_an_unreachable_redis_is_a_redis_error_on_the_loop_too() -> None:
    """What Gateway.rate_limit counts and lets pass (fail open)."""
    nobody = async_client("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(redis.RedisError):
            await limits.check_async(nobody, "read", "user:ada")
    finally:
        await nobody.aclose()


def test_buckets_are_per_consumer_and_per_class(redis_client: redis.Redis) -> None:
    """Ada's bids do not spend Bo's, nor Ada's reads."""
    for _ in range(BID.burst):
        limits.check(redis_client, "bid", "user:ada", now_ms=0)
    assert not limits.check(redis_client, "bid", "user:ada", now_ms=0).allowed
    assert limits.check(redis_client, "bid", "user:bo", now_ms=0).allowed
    assert limits.check(redis_client, "read", "user:ada", now_ms=0).allowed


def test_a_bucket_refills_at_its_rate(redis_client: redis.Redis) -> None:
    """Two bids a second come back: half a second after the burst, one more passes."""
    for _ in range(BID.burst):
        limits.check(redis_client, "bid", "user:ada", now_ms=0)
    assert not limits.check(redis_client, "bid", "user:ada", now_ms=499).allowed
    verdict = limits.check(redis_client, "bid", "user:ada", now_ms=500)
    assert (verdict.allowed, verdict.remaining) == (True, 0)
    assert not limits.check(redis_client, "bid", "user:ada", now_ms=500).allowed


def test_without_a_given_time_redis_time_is_used(redis_client: redis.Redis) -> None:
    """The replicas' own clocks play no part: Redis's is the one clock."""
    verdict = limits.check(redis_client, "watch", "address:10.0.0.9")  # 1 a second: no refill
    assert (verdict.allowed, verdict.remaining) == (True, POLICIES["watch"].burst - 1)


# --- live policies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rate", "burst", "why"),
    [
        ("nope", 1, 1, "unknown policy"),
        (None, 1, 1, "unknown policy"),
        ("bid", "2", 6, "rate must be a number"),
        ("bid", True, 6, "rate must be a number"),
        ("bid", float("nan"), 6, "rate must be a number"),
        ("bid", float("inf"), 6, "rate must be a number"),
        ("bid", 0, 6, "rate must be from 0.1"),
        ("bid", 1001, 6, "rate must be from 0.1"),
        ("bid", 1, 0, "burst must be from 1"),
        ("bid", 1, 1001, "burst must be from 1"),
        ("bid", 1, 2.5, "burst must be a whole number"),
        ("bid", 1, False, "burst must be a whole number"),
    ],
)
def test_an_override_out_of_range_is_refused_naming_why(name, rate, burst, why) -> None:
    with pytest.raises(limits.InvalidPolicy, match=why):
        limits.override(name, rate, burst)


def test_the_live_policies_overlay_the_defaults_and_skip_what_does_not_parse() -> None:
    """A stored override wins; a broken or out-of-range one leaves the default in force."""
    stored = {
        b"bid": b'{"rate": 0.5, "burst": 2}',
        b"read": b"not json",
        b"watch": b'{"rate": 0, "burst": 3}',
        b"admin": b'{"burst": 3}',
        b"nope": b'{"rate": 1, "burst": 1}',
    }
    found = limits.live(stored)
    assert found["bid"] == Policy("bid", 0.5, 2)
    assert {name: found[name] for name in ("read", "watch", "admin", "token")} == {
        name: POLICIES[name] for name in ("read", "watch", "admin", "token")
    }
    assert set(found) == set(POLICIES)


def test_set_and_reset_write_the_overrides_every_replica_reads(redis_client: redis.Redis) -> None:
    limits.set_policy(redis_client, "bid", 0.5, 2)
    limits.set_policy(redis_client, "read", 5, 10)
    assert limits.read_policies(redis_client)["bid"] == Policy("bid", 0.5, 2)
    limits.reset_policies(redis_client, "bid")
    assert limits.read_policies(redis_client)["bid"] == BID
    assert limits.read_policies(redis_client)["read"] == Policy("read", 5, 10)
    limits.reset_policies(redis_client)
    assert limits.read_policies(redis_client) == POLICIES
    with pytest.raises(limits.InvalidPolicy):
        limits.set_policy(redis_client, "bid", 0, 2)
    with pytest.raises(limits.InvalidPolicy):
        limits.reset_policies(redis_client, "nope")


def test_a_tightened_burst_cuts_a_full_bucket_down_at_once(redis_client: redis.Redis) -> None:
    """A consumer who had 6 bids in hand has 2 the moment the burst is 2."""
    assert limits.check(redis_client, "bid", "user:ada", now_ms=0).remaining == 5
    tight = Policy("bid", 0.5, 2)
    seen = [limits.check(redis_client, "bid", "user:ada", policy=tight, now_ms=0)
            for _ in range(3)]  # fmt: skip
    assert [(v.allowed, v.remaining) for v in seen] == [(True, 1), (True, 0), (False, 0)]
    assert seen[0].headers()[0] == ("RateLimit-Policy", '"bid";q=2;w=4')
