"""The gateway page's lab-socket requests, checked on the server: learners are refused every
instructor scenario (and nothing is published); instructors' commands go out as the
supervisor, the bots and the replicas read them; the comparison's rules in pure code."""

import json

import pytest
import redis
from django.contrib.auth.models import AnonymousUser

from archviz.core import keys
from archviz.core.instructor import ControlRefused
from archviz.gateway import compare, socket, tokens
from archviz.gateway.compare import CASES, bad_counts, conclusion, forge, probes
from archviz.gateway.messages import CompareRow
from tests.harness.clients import ControlChannel

pytestmark = pytest.mark.usefixtures("dashboard_emitter")


async def test_learners_are_refused_every_scenario_and_nothing_is_sent(
    redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """Bots, kill, a rate limit and the class's run: 403 with the reason, no command."""
    learner = AnonymousUser()
    attempts = [
        socket.set_bots(learner, 3),
        socket.kill_replica(learner, "gateway-1"),
        socket.set_limit(
            learner, {"type": "gateway.limit", "policy": "bid", "rate": 1, "burst": 1}
        ),
        socket.run_compare(learner, for_class=True),
    ]
    for attempt in attempts:
        with pytest.raises(ControlRefused) as refused:
            await attempt
        assert refused.value.status == 403
        assert "instructors" in refused.value.reason
    assert await control_channel.published() == []


async def test_an_instructor_kills_only_a_gateway_or_bidding_replica_the_supervisor_runs(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """A node or the auth service is not this page's to kill; an unknown replica is a 404;
    a running gateway replica gets the supervisor's node.kill."""
    redis_client.hset(keys.PROCESSES, "gateway-2", json.dumps({"kind": "gateway"}))
    for node, status in (("node-1", 400), ("auth-1", 400), ("bidding-9", 404)):
        with pytest.raises(ControlRefused) as refused:
            await socket.kill_replica(instructor_user, node)
        assert refused.value.status == status, node
    await socket.kill_replica(instructor_user, "gateway-2")
    [command] = await control_channel.published()
    assert (command["type"], command["node"]) == ("node.kill", "gateway-2")


async def test_an_instructor_sets_the_bots(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    await socket.set_bots(instructor_user, 4)
    with pytest.raises(ControlRefused) as refused:
        await socket.set_bots(instructor_user, 99)
    assert refused.value.status == 400
    [command] = await control_channel.published()
    assert (command["type"], command["count"]) == ("gateway.bots", 4)


async def test_the_comparison_says_why_it_cannot_run(instructor_user, redis_client) -> None:
    """No balancer: a 503 naming it, not a hang or a crash; a second run at once is a 429."""
    with pytest.raises(ControlRefused) as refused:
        await socket.run_compare(instructor_user, for_class=False)
    assert (refused.value.status, refused.value.reason) == (503, "the load balancer is not up")
    with pytest.raises(ControlRefused) as again:
        await socket.run_compare(instructor_user, for_class=False)
    assert again.value.status == 429


def _row(case: str, gateway: dict[str, int], direct: dict[str, int]) -> CompareRow:
    return CompareRow(case=case, words="", gateway=gateway, direct=direct)


def test_bad_requests_are_counted_from_what_was_measured() -> None:
    """Through the gateway only the valid token's answers reached the catalog; around it
    everything did: 1 expired + 1 forged + 1 viewer + 11 over the quota = 14 bad."""
    rows = [
        _row("valid", {"200": 1}, {"200": 1}),
        _row("expired", {"401": 1}, {"200": 1}),
        _row("forged", {"401": 1}, {"200": 1}),
        _row("viewer_bids", {"403": 1}, {"404": 1}),
        _row("burst", {"200": 19, "429": 11}, {"200": 30}),
    ]
    assert bad_counts(rows, reached_gateway=20, reached_direct=34) == (14, 0, 14)
    said = conclusion(14, 0, 14, "the load balancer (:8300)")
    assert said.startswith("Through the gateway 0 of 14 bad requests reached a service; through")
    assert "each service must check tokens, scopes and quotas itself" in said
    assert conclusion(14, 2, 14, "x") == (
        "Through the gateway 2 of 14 bad requests reached a service; through x 14 of 14 did."
    )


def test_the_five_requests_and_the_forged_token() -> None:
    """Five cases in order; the forged token keeps the claims and kid but no key verifies it."""
    key = tokens.SigningKey.generate()
    valid = tokens.issue("probe-1", "bidder", key, 1_000.0)
    minted = compare.Tokens(valid=valid, expired=valid, forged=forge(valid), viewer=valid)
    sent = probes(minted, "lamp")
    assert tuple(p.case for p in sent) == CASES
    assert sent[3].path == "/auctions/lamp/bids" and sent[4].count == compare.BURST
    keys_ = tokens.KeySet.from_jwks({"keys": [key.public_jwk()]})
    assert tokens.verify(valid, keys_, now=1_001.0)["sub"] == "probe-1"
    with pytest.raises(tokens.TokenError) as forged:
        tokens.verify(minted.forged, keys_, now=1_001.0)
    assert forged.value.error == "bad_signature"
