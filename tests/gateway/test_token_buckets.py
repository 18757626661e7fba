"""What one token request costs, in process on the real Redis: the gateway in front of the
auth service's own application. The gateway's "token" class and the service's own
per-address limit ("auth-token", which stops what bypasses the gateway) are two buckets
under two keys: a request through the gateway takes one token from each, never two from
one; a request straight to the service takes one from the service's alone."""

from collections.abc import AsyncIterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from archviz.core.ratelimit import level_shared
from archviz.gateway import auth_service, keys, limits
from archviz.trace.emitter import Emitter
from tests.gateway.edge_support import *  # noqa: F403  (the in-process gateway's fixtures)
from tests.gateway.edge_support import Replicas, parts, registration

ADDRESS = "address:127.0.0.1"  # the test client's, as both the gateway and the service see it
GATEWAY_BUCKET = keys.rate_bucket("token", ADDRESS)
SERVICE_BUCKET = keys.rate_bucket(auth_service.TOKEN_POLICY.name, ADDRESS)


@pytest.fixture
async def auth_app(redis_client: redis.Redis, trace: Emitter) -> AsyncIterator[TestServer]:
    app = auth_service.make_app("auth-1", lambda: redis_client, emitter=lambda: trace)
    async with TestServer(app) as server:
        yield server


@pytest.fixture
async def through_gateway(
    gateway: TestClient, replicas: Replicas, auth_app: TestServer
) -> TestClient:
    replicas["auth"] = [registration("auth-1", "auth", auth_app.port)]
    await parts(gateway).upstreams.refresh()
    return gateway


def tokens_taken(client: redis.Redis, key: str, policy: limits.Policy) -> int:
    """Whole tokens gone from a bucket (a few ms of refill do not make up one)."""
    level = level_shared(client, limits.Limit(key, policy.rate, policy.burst))
    return policy.burst - int(level)


def limit_keys(client: redis.Redis) -> set[str]:
    return {k.decode() for k in client.scan_iter(match=keys.PREFIX + "limit:*")}


async def test_a_token_request_through_the_gateway_costs_one_token_from_each_bucket(
    through_gateway: TestClient, redis_client: redis.Redis
) -> None:
    """One from the gateway's "token" bucket, one from the service's "auth-token" one."""
    answer = await through_gateway.post("/auth/token", json={"name": "ada", "role": "viewer"})
    assert answer.status == 200, await answer.text()
    assert limit_keys(redis_client) == {GATEWAY_BUCKET, SERVICE_BUCKET}
    assert tokens_taken(redis_client, GATEWAY_BUCKET, limits.POLICIES["token"]) == 1
    assert tokens_taken(redis_client, SERVICE_BUCKET, auth_service.TOKEN_POLICY) == 1
    policies = answer.headers.getall("RateLimit-Policy")
    assert sorted(p.split(";")[0] for p in policies) == ['"auth-token"', '"token"']


async def test_a_token_request_straight_to_the_service_costs_one_from_its_own_alone(
    auth_app: TestServer, redis_client: redis.Redis
) -> None:
    """Bypassing the gateway: only the service's own limit is there to meet."""
    async with TestClient(auth_app) as direct:
        answer = await direct.post("/auth/token", json={"name": "ada", "role": "viewer"})
    assert answer.status == 200
    assert limit_keys(redis_client) == {SERVICE_BUCKET}
    assert tokens_taken(redis_client, SERVICE_BUCKET, auth_service.TOKEN_POLICY) == 1
