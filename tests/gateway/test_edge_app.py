"""A gateway replica's application in process, on the real Redis, in front of the catalog's
application (in process too) and stand-ins that refuse or never answer: every HTTP stage,
its denials, its trace and its time split."""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import jwt
import pytest
import redis
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.core.ports import free_port
from archviz.gateway import catalog, signing_keys, tokens
from archviz.gateway.tokens import SigningKey
from archviz.trace.emitter import Emitter
from tests.gateway.edge_support import *  # noqa: F403  (the in-process gateway's fixtures)
from tests.gateway.edge_support import (
    Replicas,
    bearer,
    catalog_requests,
    events,
    parts,
    raw_get,
    registration,
)
from tests.harness.wait_for import async_wait_for

# --- a request that passes every stage --------------------------------------------------


async def test_a_catalog_read_is_answered_by_the_catalog_with_the_time_split(
    gateway: TestClient, token
) -> None:
    """The catalog's answer relayed, with this replica's name, the trace id it was given,
    the RateLimit headers and Server-Timing: time in the gateway and upstream."""
    headers = bearer(token()) | {"X-Archviz-Trace": "flow-1234abcd"}
    response = await gateway.get("/catalog/auctions/test-lamp", headers=headers)
    assert response.status == 200, await response.text()
    assert (await response.json())["title"] == "Lamp"
    assert response.headers[catalog.SERVICE_HEADER] == "catalog-1"
    assert response.headers["X-Archviz-Gateway"] == "gateway-t"
    assert response.headers["X-Archviz-Trace"] == "flow-1234abcd"
    assert response.headers["RateLimit-Policy"] == '"read";q=20;w=2'
    assert response.headers["RateLimit"].startswith('"read";r=19;')
    timing = dict(entry.split(";dur=") for entry in response.headers["Server-Timing"].split(", "))
    assert set(timing) == {"gateway", "upstream"}
    assert float(timing["gateway"]) > 0 and float(timing["upstream"]) > 0


async def test_requests_to_a_service_reuse_one_kept_alive_connection(
    gateway: TestClient, catalog_app: TestServer, token
) -> None:
    """Five reads one after another reach the catalog over one connection, and the
    gateway's client keeps no cookies (they are the clients')."""
    headers = bearer(token())
    for _ in range(5):
        assert (await gateway.get("/catalog/auctions/test-lamp", headers=headers)).status == 200
    assert catalog_requests(catalog_app) == 5
    assert len(catalog_app.runner.server.connections) == 1
    assert isinstance(parts(gateway).session.cookie_jar, aiohttp.DummyCookieJar)


async def test_every_stage_is_a_trace_event_of_the_one_flow(
    gateway: TestClient, token, redis_client: redis.Redis, trace: Emitter
) -> None:
    """route -> authenticate -> authorise -> limit -> dispatch (to the replica) -> response."""
    headers = bearer(token()) | {"X-Archviz-Trace": "flow-stages-1"}
    assert (await gateway.get("/catalog/auctions", headers=headers)).status == 200
    found = events(redis_client, trace, "flow-stages-1")
    assert [e["kind"] for e in found] == [
        "gateway.route",
        "gateway.authenticate",
        "gateway.authorise",
        "gateway.limit",
        "gateway.dispatch",
        "gateway.response",
    ]
    assert all(e["src"] == "gateway-t" and e["demo"] == "gateway" and e["ok"] for e in found)
    assert all(e["ms"] is not None and e["ms"] >= 0 for e in found)
    route, authenticated, _, limit, dispatched, response = found
    assert route["detail"]["route"] == "catalog.list"
    assert authenticated["detail"]["sub"] == "alice"
    assert limit["dst"] == "redis" and limit["detail"]["consumer"] == "user:alice"
    assert dispatched["dst"] == "catalog-1" and dispatched["detail"]["status"] == 200
    assert response["detail"]["upstream_ms"] > 0 and response["detail"]["verdict"] == "ok"


async def test_a_refusal_is_traced_as_the_stage_that_refused_then_a_deny(
    gateway: TestClient, token, redis_client: redis.Redis, trace: Emitter
) -> None:
    """An expired token: authenticate fails, gateway.deny names the stage, the status and
    the token's error; no dispatch."""
    expired = token("eve", now=time.time() - 100, ttl_s=10)
    headers = bearer(expired) | {"X-Archviz-Trace": "flow-denied-1"}
    assert (await gateway.get("/catalog/auctions", headers=headers)).status == 401
    found = events(redis_client, trace, "flow-denied-1")
    assert [(e["kind"], e["ok"]) for e in found] == [
        ("gateway.route", True),
        ("gateway.authenticate", False),
        ("gateway.deny", False),
        ("gateway.response", False),
    ]
    deny = found[2]
    assert deny["dst"] == "client"
    assert deny["detail"] == {
        "route": "catalog.list",
        "stage": "authenticate",
        "status": 401,
        "verdict": "401",
        "error": "expired",
        "token_error": "expired",
        "consumer": "address:127.0.0.1",
    }


async def test_an_invalid_trace_header_gets_a_new_trace_id(gateway: TestClient, token) -> None:
    response = await gateway.get(
        "/catalog/auctions", headers=bearer(token()) | {"X-Archviz-Trace": "no spaces allowed"}
    )
    assert response.status == 200
    assert len(response.headers["X-Archviz-Trace"]) == 16


async def test_a_service_refusal_is_relayed_not_counted_as_the_gateways(
    gateway: TestClient, token
) -> None:
    """The catalog's own 404 for an auction it does not have reaches the client as is."""
    response = await gateway.get("/catalog/auctions/nope", headers=bearer(token()))
    assert response.status == 404
    assert response.headers[catalog.SERVICE_HEADER] == "catalog-1"
    counts = parts(gateway).counts
    assert counts.requests == {"404": 1} and counts.denied == {}
    assert counts.reached == {"catalog": 1}


# --- 401: every way a token is refused ---------------------------------------------------


def _claims(**changes: object) -> dict[str, object]:
    now = time.time()
    return {
        "sub": "mallory",
        "role": "bidder",
        "scope": "auctions:read auctions:watch bids:write",
        "aud": tokens.AUDIENCE,
        "iss": tokens.ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": "j" * 20,
        **changes,
    }


def _forged(kind: str, key: SigningKey) -> str:
    header = {"kid": key.kid, "typ": tokens.TOKEN_TYPE}
    if kind == "alg_none":
        return jwt.encode(_claims(), None, algorithm="none", headers=header)
    if kind == "bad_signature":
        return jwt.encode(
            _claims(), SigningKey.generate().private_key, algorithm="EdDSA", headers=header
        )
    if kind == "wrong_audience":
        return jwt.encode(
            _claims(aud="another-api"), key.private_key, algorithm="EdDSA", headers=header
        )
    if kind == "unknown_key":
        return tokens.issue("mallory", "bidder", SigningKey.generate(), time.time())
    if kind == "expired":
        return tokens.issue("mallory", "bidder", key, time.time() - 100, ttl_s=10)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, "missing"),
        ("Basic YWxpY2U6cHc=", "missing"),
        ("Bearer not-a-jwt", "malformed"),
        ("Bearer ", "malformed"),
        ("alg_none", "alg_none"),
        ("bad_signature", "bad_signature"),
        ("wrong_audience", "wrong_audience"),
        ("unknown_key", "unknown_key"),
        ("expired", "expired"),
    ],
)
async def test_a_refused_token_is_a_401_naming_why_and_never_reaches_the_catalog(
    gateway: TestClient, catalog_app: TestServer, key: SigningKey, authorization, error
) -> None:
    if authorization in (None, "Basic YWxpY2U6cHc=", "Bearer not-a-jwt", "Bearer "):
        headers = {} if authorization is None else {"Authorization": authorization}
    else:
        headers = bearer(_forged(authorization, key))
    response = await gateway.get("/catalog/auctions", headers=headers)
    assert response.status == 401
    body = await response.json()
    assert body["error"] == error
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="archviz"')
    assert ("invalid_token" in challenge) == (error != "missing")
    assert catalog_requests(catalog_app) == 0
    assert parts(gateway).counts.token_errors == {error: 1}
    assert parts(gateway).counts.denied == {"401": 1}


async def test_a_revoked_token_is_a_401_revoked(
    gateway: TestClient, catalog_app: TestServer, token, redis_client: redis.Redis
) -> None:
    """Revoked after it worked: refused from the next request on (the notice wakes the
    replica's key follower)."""
    good = token(jti="revoke-me-0123456789")
    assert (await gateway.get("/catalog/auctions", headers=bearer(good))).status == 200
    signing_keys.revoke(redis_client, "revoke-me-0123456789", time.time())

    async def status() -> int:
        return (await gateway.get("/catalog/auctions", headers=bearer(good))).status

    await async_wait_for(status, "the revoked token refused", until=lambda s: s == 401)
    response = await gateway.get("/catalog/auctions", headers=bearer(good))
    assert (await response.json())["error"] == "revoked"


async def test_a_token_signed_by_a_key_rotated_in_a_moment_ago_is_accepted(
    gateway: TestClient, token, redis_client: redis.Redis
) -> None:
    """A kid the replica does not know yet makes it re-read the ring once, not refuse."""
    assert (await gateway.get("/catalog/auctions", headers=bearer(token()))).status == 200
    fresh = signing_keys.rotate(redis_client, time.time())
    quick = tokens.issue("alice", "bidder", fresh, time.time())
    assert (await gateway.get("/catalog/auctions", headers=bearer(quick))).status == 200


# --- 403, 429 ----------------------------------------------------------------------------


async def test_a_viewer_may_read_but_not_bid(gateway: TestClient, token) -> None:
    """403 insufficient_scope, from the gateway: there is no bidding replica to ask."""
    viewer = bearer(token("vera", "viewer"))
    assert (await gateway.get("/catalog/auctions", headers=viewer)).status == 200
    response = await gateway.post("/auctions/test-lamp/bids", json={"amount": 50}, headers=viewer)
    assert response.status == 403
    assert (await response.json())["error"] == "insufficient_scope"
    assert 'scope="bids:write"' in response.headers["WWW-Authenticate"]


async def test_over_the_rate_limit_is_a_429_with_retry_after_and_ratelimit_headers(
    gateway: TestClient, catalog_app: TestServer, token
) -> None:
    """The read class holds 20: the requests past it are refused, and not forwarded."""
    headers = bearer(token("rita"))
    statuses = [(await gateway.get("/catalog/auctions", headers=headers)).status for _ in range(20)]
    assert statuses == [200] * 20
    for _ in range(5):  # it refills 10 a second: a few more may pass before it is empty
        response = await gateway.get("/catalog/auctions", headers=headers)
        if response.status == 429:
            break
    assert response.status == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Policy"] == '"read";q=20;w=2'
    assert response.headers["RateLimit"] == '"read";r=0;t=1'
    assert (await response.json())["error"] == "rate_limited"
    assert catalog_requests(catalog_app) < 26


async def test_an_anonymous_consumer_is_its_address_or_the_one_a_lab_proxy_relays(
    gateway: TestClient, redis_client: redis.Redis
) -> None:
    """POST /auth/token is public: its bucket is the client's address, which only one of the
    lab's own proxies (the lab client header) may say is another's."""
    relayed = {LAB_CLIENT_HEADER: lab_client_token(), "X-Forwarded-For": "6.6.6.6, 10.1.2.3"}
    await gateway.post("/auth/token", json={"name": "a", "role": "viewer"}, headers=relayed)
    forged = {"X-Forwarded-For": "10.9.9.9"}
    await gateway.post("/auth/token", json={"name": "a", "role": "viewer"}, headers=forged)
    buckets = sorted(
        k.decode().rsplit(":", 2)[-2] + ":" + k.decode().rsplit(":", 1)[-1]
        for k in redis_client.scan_iter("archviz:gateway:limit:token:*")
    )
    assert buckets == ["address:10.1.2.3", "address:127.0.0.1"]


# --- 404, 405, 413 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/catalog/auctions/",
        "/catalog/auctions/a/b",
        "/catalog/auctions/UPPER",
        "/catalog/auctions/..%2F..%2Fetc",
        "/catalog/auctions/%2e%2e",
        "//catalog/auctions",
        "/catalog/health",
        "/ws/auctions/test-lamp",
    ],
)
async def test_an_unknown_route_is_a_404_that_the_catalog_never_sees(
    gateway: TestClient, catalog_app: TestServer, token, path: str
) -> None:
    """The path as sent, byte for byte (no client library tidies it first)."""
    status, body = await raw_get(gateway.port, path, bearer(token()))
    assert status == 404
    assert json.loads(body)["error"] == "not_found"
    assert catalog_requests(catalog_app) == 0
    assert parts(gateway).counts.denied == {"404": 1}


async def test_a_wrong_method_is_a_405_with_allow(gateway: TestClient, token) -> None:
    response = await gateway.delete("/catalog/auctions", headers=bearer(token()))
    assert (response.status, response.headers["Allow"]) == (405, "GET")


async def test_a_body_over_the_routes_limit_is_a_413(gateway: TestClient, token) -> None:
    """Declared (Content-Length) or not (chunked): refused past 1 KiB, unread."""
    big = b'{"name": "' + b"a" * 2_000 + b'"}'
    declared = await gateway.post("/auth/token", data=big)
    assert (declared.status, (await declared.json())["error"]) == (413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    chunked = await gateway.post("/auctions/test-lamp/bids", data=chunks(), headers=bearer(token()))
    assert chunked.status == 413
    assert parts(gateway).counts.denied == {"413": 2}


# --- 503, 504, retries -------------------------------------------------------------------


async def test_no_catalog_replica_is_a_503_naming_the_catalog(
    gateway: TestClient, replicas: Replicas, token
) -> None:
    replicas["catalog"] = []
    await parts(gateway).upstreams.refresh()
    response = await gateway.get("/catalog/auctions", headers=bearer(token()))
    assert response.status == 503
    body = await response.json()
    assert (body["error"], body["service"]) == ("service_unavailable", "catalog")
    assert response.headers["Retry-After"] == "1"


async def test_without_an_auth_service_a_token_request_is_a_503_naming_auth(
    gateway: TestClient,
) -> None:
    response = await gateway.post("/auth/token", json={"name": "alice", "role": "bidder"})
    assert response.status == 503
    assert (await response.json())["service"] == "auth"


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that takes connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def test_a_replica_that_does_not_answer_in_time_is_a_504(
    gateway: TestClient, replicas: Replicas, silent_port: int, token
) -> None:
    """The route's deadline (cut to 300 ms here) passes: 504, and no retry past it."""
    replicas["catalog"] = [registration("catalog-9", "catalog", silent_port)]
    await parts(gateway).upstreams.refresh()
    started = time.monotonic()
    response = await gateway.get("/catalog/auctions/test-lamp", headers=bearer(token()))
    assert response.status == 504
    assert time.monotonic() - started < 2
    body = await response.json()
    assert (body["error"], body["service"]) == ("deadline_exceeded", "catalog")
    assert parts(gateway).counts.retries == 0


def _closed_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_replica_that_refuses_is_retried_on_another_then_skipped(
    gateway: TestClient, replicas: Replicas, catalog_app: TestServer, token
) -> None:
    """Every request is answered; the refusing replica is tried once, then left alone."""
    replicas["catalog"].append(registration("catalog-0", "catalog", _closed_port()))
    await parts(gateway).upstreams.refresh()
    for _ in range(6):
        response = await gateway.get("/catalog/auctions", headers=bearer(token()))
        assert response.status == 200
        assert response.headers[catalog.SERVICE_HEADER] == "catalog-1"
    counts = parts(gateway).counts
    assert counts.retries <= 1
    assert [r.id for r in parts(gateway).upstreams.healthy("catalog")] == ["catalog-1"]


async def test_a_post_cut_off_by_a_replica_is_not_retried(
    gateway: TestClient, replicas: Replicas
) -> None:
    """POST /auth/token is not idempotent: a replica that took it and hung up is a 502."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    replicas["auth"] = [
        registration("auth-1", "auth", port),
        registration("auth-2", "auth", free_port("127.0.0.1")),
    ]
    await parts(gateway).upstreams.refresh()
    try:
        for _ in range(4):
            response = await gateway.post("/auth/token", json={"name": "a", "role": "viewer"})
            if response.headers.get("X-Archviz-Gateway") and response.status == 502:
                break
        assert response.status == 502
        assert (await response.json())["service"] == "auth"
    finally:
        server.close()


async def test_the_auth_service_is_sent_the_cookie_and_who_the_client_is(
    gateway: TestClient, replicas: Replicas
) -> None:
    """An instructor's dashboard session reaches the auth service, with the lab client
    header that lets it believe the X-Forwarded-For."""
    seen: dict[str, str] = {}

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        seen.update(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    replicas["auth"] = [registration("auth-1", "auth", server.sockets[0].getsockname()[1])]
    await parts(gateway).upstreams.refresh()
    try:
        response = await gateway.post(
            "/auth/token",
            json={"name": "i", "role": "instructor"},
            headers={"Cookie": "sessionid=abc"},
        )
    finally:
        server.close()
    assert response.status == 200
    assert seen["Cookie"] == "sessionid=abc"
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen[LAB_CLIENT_HEADER] == lab_client_token()
    assert len(seen["X-Archviz-Trace"]) == 16


async def test_the_gateway_answers_while_redis_keeps_its_key_ring(
    gateway: TestClient, token
) -> None:
    """A smoke test of the session: the client session is made once and reused."""
    session = parts(gateway).session
    for _ in range(3):
        assert (await gateway.get("/catalog/auctions", headers=bearer(token()))).status == 200
    assert isinstance(session, ClientSession) and parts(gateway).session is session


async def test_the_balancers_health_check_is_answered_by_the_replica(gateway: TestClient) -> None:
    """GET /gateway/health: 200 naming the replica, so the 8200 listener counts it healthy."""
    answer = await gateway.get("/gateway/health")
    assert answer.status == 200
    assert (await answer.json())["ok"] is True


async def test_the_catalog_is_sent_the_token_the_gateway_verified(
    gateway: TestClient, catalog_app: TestServer, token
) -> None:
    """The service can check it again: the catalog counts it valid (reached.py)."""
    census = catalog_app.app[catalog.CENSUS]
    census.follower.mark_stale()
    await census.refresh(catalog_app.app[catalog.CLIENT]())  # the ring's key, made just now
    assert (await gateway.get("/catalog/auctions", headers=bearer(token()))).status == 200
    assert census.snapshot()["valid"] == 1 and census.snapshot()["none"] == 0
