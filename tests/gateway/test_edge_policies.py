"""A replica's live rate-limit policies, in process on the real Redis: an override written
by the caller (as the lab socket's handler does) applies within the follow interval, the
headers report it, each change is a gateway.policy event, and a reset restores the
default. The same across two real replicas, by the control command: test_edge_command.py."""

import redis
from aiohttp.test_utils import TestClient

from archviz.gateway import limits
from archviz.gateway.edge import policies
from archviz.gateway.limits import POLICIES, Policy
from archviz.trace.emitter import Emitter
from tests.gateway.edge_support import *  # noqa: F403  (the in-process gateway's fixtures)
from tests.gateway.edge_support import bearer, parts, published
from tests.harness.wait_for import async_wait_for


def test_changes_name_each_class_whose_policy_moved() -> None:
    tight = dict(POLICIES) | {"bid": Policy("bid", 0.5, 2)}
    assert policies.changes(POLICIES, tight) == [(POLICIES["bid"], Policy("bid", 0.5, 2))]
    assert policies.changes(tight, tight) == []


async def _statuses(gateway: TestClient, headers: dict, n: int) -> list[int]:
    return [(await gateway.get("/catalog/auctions", headers=headers)).status for _ in range(n)]


async def test_a_tightened_read_limit_applies_and_a_reset_restores_it(
    gateway: TestClient, token, redis_client: redis.Redis, trace: Emitter
) -> None:
    """read: 20 at once by default; set to 2: the third read is a 429 under "read";q=2;
    reset: a new reader has its 20 again."""
    limits.set_policy(redis_client, "read", 0.1, 2)
    await async_wait_for(
        lambda: parts(gateway).policies["read"].burst == 2, "the replica following the override"
    )
    headers = bearer(token("rhea"))
    assert await _statuses(gateway, headers, 3) == [200, 200, 429]
    refused = await gateway.get("/catalog/auctions", headers=headers)
    assert refused.headers["RateLimit-Policy"] == '"read";q=2;w=20'
    limits.reset_policies(redis_client)
    await async_wait_for(
        lambda: parts(gateway).policies["read"] == POLICIES["read"], "back on the default"
    )
    assert await _statuses(gateway, bearer(token("remy")), 20) == [200] * 20
    changed = [e for e in published(redis_client, trace) if e["kind"] == "gateway.policy"]
    assert [(e["detail"]["burst"], e["detail"]["default"]) for e in changed] == [
        (2, False),
        (20, True),
    ]
    assert changed[0]["src"] == "gateway-t" and changed[0]["detail"]["from"]["burst"] == 20
