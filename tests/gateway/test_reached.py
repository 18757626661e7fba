"""What reached a service, by the token it carried (reached.py): the classes, with real
tokens and the ring's key; then the catalog's application in process on the real Redis,
counting every request it serves (none refused) and answering a dashboard's page."""

import time
from collections.abc import AsyncIterator

import jwt
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from archviz.core import keys as core_keys
from archviz.core import registry
from archviz.gateway import catalog, reached, signing_keys, tokens
from archviz.gateway.signing_keys import KeysUnavailable
from archviz.gateway.tokens import KeySet, SigningKey
from tests.gateway.edge_support import registration
from tests.harness.wait_for import async_wait_for

PAGE = "http://127.0.0.1:8000"


def forged(key: SigningKey) -> str:
    """A token naming the ring's key, signed by another: what a forger can make."""
    now = time.time()
    claims = {"sub": "mallory", "role": "bidder", "scope": "bids:write", "aud": tokens.AUDIENCE,
              "iss": tokens.ISSUER, "iat": now, "exp": now + 60, "jti": "j" * 20}  # fmt: skip
    headers = {"kid": key.kid, "typ": tokens.TOKEN_TYPE}
    return jwt.encode(claims, SigningKey.generate().private_key, algorithm="EdDSA", headers=headers)


def headers_for(kind: str, key: SigningKey) -> str | None:
    """An Authorization header of each kind a side by side sends."""
    now = time.time()
    made = {
        "none": None,
        "basic": "Basic YWxpY2U6cHc=",
        "valid": "Bearer " + tokens.issue("ada", "viewer", key, now),
        "expired": "Bearer " + tokens.issue("ada", "viewer", key, now - 100, ttl_s=10),
        "forged": "Bearer " + forged(key),
        "unknown_key": "Bearer " + tokens.issue("ada", "viewer", SigningKey.generate(), now),
        "alg_none": "Bearer " + jwt.encode({"sub": "x"}, None, algorithm="none",
                                           headers={"kid": key.kid, "typ": tokens.TOKEN_TYPE}),
        "malformed": "Bearer not-a-jwt",
    }  # fmt: skip
    return made[kind]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("none", "none"),
        ("basic", "none"),
        ("valid", "valid"),
        ("expired", "expired"),
        ("forged", "forged"),
        ("unknown_key", "forged"),
        ("alg_none", "forged"),
        ("malformed", "malformed"),
    ],
)
def test_each_token_is_classed_as_the_gateway_would_judge_it(kind: str, expected: str) -> None:
    key = SigningKey.generate()
    ring = KeySet.from_jwks({"keys": [key.public_jwk()]})

    def verify(token: str) -> tokens.Claims:
        return tokens.verify(token, ring, now=time.time())

    assert reached.classify(headers_for(kind, key), verify) == expected


def test_a_ring_that_cannot_be_read_leaves_a_token_unchecked() -> None:
    def unavailable(token: str) -> tokens.Claims:
        raise KeysUnavailable("Redis is unreachable")

    assert reached.classify("Bearer a.b.c", unavailable) == "unchecked"


# --- the catalog, in process ------------------------------------------------------------------


@pytest.fixture
def key(redis_client: redis.Redis) -> SigningKey:
    return signing_keys.current_signing_key(redis_client, time.time())


@pytest.fixture
async def catalog_client(redis_client: redis.Redis, key: SigningKey) -> AsyncIterator[TestClient]:
    """The catalog as catalog-1, the ring's key read before the first request, a dashboard
    registered on 8000 (kept, without its TTL)."""
    registry.register(redis_client, registration("dashboard-1", "dashboard", 8000))
    redis_client.persist(core_keys.registry("dashboard", "dashboard-1"))
    app = catalog.make_app("catalog-1", lambda: redis_client)
    async with TestClient(TestServer(app)) as client:
        yield client


def census(client: TestClient) -> dict[str, int]:
    return client.server.app[catalog.CENSUS].snapshot()


async def test_the_catalog_serves_every_token_and_counts_each_by_its_class(
    catalog_client: TestClient, key: SigningKey
) -> None:
    """No refusal: each answered 200; the counts say what came in."""
    sent = ["none", "valid", "valid", "expired", "forged", "alg_none", "malformed"]
    for kind in sent:
        header = headers_for(kind, key)
        answer = await catalog_client.get(
            "/catalog/auctions", headers={"Authorization": header} if header else {}
        )
        assert answer.status == 200
    assert census(catalog_client) == {"none": 1, "valid": 2, "expired": 1, "forged": 2,
                                      "malformed": 1, "other": 0, "unchecked": 0}  # fmt: skip


async def test_the_balancers_health_checks_are_not_counted(catalog_client: TestClient) -> None:
    assert (await catalog_client.get(catalog.HEALTH_PATH)).status == 200
    assert sum(census(catalog_client).values()) == 0


async def test_the_heartbeat_reports_what_reached_it(catalog_client: TestClient, key) -> None:
    header = {"Authorization": headers_for("forged", key)}
    await catalog_client.get("/catalog/auctions", headers=header)

    extra = catalog.extra(catalog_client.server.app)
    assert extra["reached_by_token"]["forged"] == 1
    assert extra["preflights"] == 0


async def test_the_catalog_answers_a_dashboards_page_past_the_gateway(
    catalog_client: TestClient,
) -> None:
    """The side by side's requests come from a dashboard's page: preflight and grant."""
    cross = catalog_client.server.app[catalog.CROSS]
    await async_wait_for(lambda: PAGE in cross.dashboard_origins, "the catalog following")
    preflight = await catalog_client.options(
        "/catalog/auctions",
        headers={"Origin": PAGE, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"},
    )  # fmt: skip
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == PAGE
    assert preflight.headers[catalog.SERVICE_HEADER] == "catalog-1"
    answer = await catalog_client.get("/catalog/auctions", headers={"Origin": PAGE})
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    stranger = await catalog_client.get("/catalog/auctions", headers={"Origin": "http://x.test"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert sum(census(catalog_client).values()) == 2  # the preflight was not a request
