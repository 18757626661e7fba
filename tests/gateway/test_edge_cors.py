"""The gateway edge's cross-origin rules, in process on the real Redis: a registered
dashboard's page may call it with credentials and read every answer, its denials included;
a page from anywhere else gets no grant, no forwarded cookie and no auction socket."""

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from archviz.core import keys, registry
from archviz.gateway import cors
from tests.gateway.edge_support import *  # noqa: F403  (the in-process gateway's fixtures)
from tests.gateway.edge_support import (
    LAMP,
    Replicas,
    bearer,
    catalog_requests,
    parts,
    registration,
)
from tests.harness.wait_for import async_wait_for

PAGE = "http://127.0.0.1:8000"  # the dashboard registered by the `page` fixture
STRANGER = "http://127.0.0.1:8888"  # any other local web server's page


@pytest.fixture
async def page(redis_client: redis.Redis, gateway: TestClient) -> str:
    """A dashboard registered on port 8000 (kept, without its TTL), once the gateway
    follows it: the origin its pages have."""
    registry.register(redis_client, registration("dashboard-1", "dashboard", 8000))
    redis_client.persist(keys.registry("dashboard", "dashboard-1"))
    await async_wait_for(
        lambda: PAGE in parts(gateway).cors.dashboard_origins, "the gateway following the dashboard"
    )
    return PAGE


def preflight_of(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


# --- preflights ---------------------------------------------------------------------------


async def test_a_dashboards_preflight_is_answered_at_the_edge(
    gateway: TestClient, page: str, catalog_app: TestServer
) -> None:
    """204 naming the page's origin, with credentials, the methods and headers it may send;
    the catalog never sees it."""
    before = catalog_requests(catalog_app)
    answer = await gateway.options("/catalog/auctions", headers=preflight_of(page, "GET"))
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == page
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Vary"] == "Origin"
    allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert set(answer.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}
    assert catalog_requests(catalog_app) == before
    assert parts(gateway).cors.preflights == 1


async def test_a_preflight_for_the_auction_bids_needs_no_route_stage(
    gateway: TestClient, page: str
) -> None:
    """A preflight is never a request of the route table: no 405 for OPTIONS on a POST route."""
    answer = await gateway.options(f"/auctions/{LAMP}/bids", headers=preflight_of(page))
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == page


async def test_a_strangers_preflight_is_refused_without_a_grant(
    gateway: TestClient, page: str
) -> None:
    """403 origin_not_allowed, no Access-Control-Allow-* at all: the browser sends nothing."""
    answer = await gateway.options("/auth/token", headers=preflight_of(STRANGER))
    assert answer.status == 403
    assert (await answer.json())["error"] == "origin_not_allowed"
    assert not [name for name in answer.headers if name.lower().startswith("access-control")]
    assert answer.headers["Vary"] == "Origin"
    assert parts(gateway).cors.snapshot() == {"preflights": 1, "origin_refused": 1}


async def test_an_options_request_that_is_no_preflight_is_routed(gateway: TestClient) -> None:
    """Without Access-Control-Request-Method it is a plain OPTIONS: the route table's 405."""
    answer = await gateway.options("/catalog/auctions")
    assert answer.status == 405


# --- answers and denials -------------------------------------------------------------------


async def test_a_dashboards_page_may_read_an_answer_and_its_headers(
    gateway: TestClient, page: str, token
) -> None:
    """The origin echoed, credentials allowed, the rate-limit and timing headers exposed."""
    answer = await gateway.get("/catalog/auctions", headers=bearer(token()) | {"Origin": page})
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == page
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Vary"] == "Origin"
    exposed = set(answer.headers["Access-Control-Expose-Headers"].split(", "))
    assert {"RateLimit", "RateLimit-Policy", "Retry-After", "WWW-Authenticate",
            "Server-Timing", "X-Archviz-Trace"} <= exposed  # fmt: skip


@pytest.mark.parametrize(
    ("path", "method", "role", "status"),
    [
        ("/catalog/auctions", "GET", None, 401),  # no token
        (f"/auctions/{LAMP}/bids", "POST", "viewer", 403),  # a viewer bidding
        ("/catalog/nothing-here", "GET", "bidder", 404),
    ],
)
async def test_the_edges_denials_carry_the_grant(
    gateway: TestClient, page: str, token, path: str, method: str, role: str | None, status: int
) -> None:
    """A page can read why it was refused: the edge's own answers name its origin too."""
    headers = {"Origin": page} | (bearer(token("ann", role)) if role else {})
    body = {"amount": 50} if method == "POST" else None
    answer = await gateway.request(method, path, headers=headers, json=body)
    assert answer.status == status
    assert answer.headers["Access-Control-Allow-Origin"] == page
    if status in (401, 403):
        assert "WWW-Authenticate" in answer.headers["Access-Control-Expose-Headers"]


async def test_a_429_carries_the_grant_and_its_retry_after(gateway: TestClient, page: str) -> None:
    """Past the token class's burst (5, refilled 1 a second): a 429 the page can read, with
    Retry-After exposed (no auth replica is needed: the limit comes first)."""
    for _ in range(8):
        refused = await gateway.post("/auth/token", json={"name": "g"}, headers={"Origin": page})
        if refused.status == 429:
            break
    assert refused.status == 429
    assert refused.headers["Access-Control-Allow-Origin"] == page
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]


async def test_a_strangers_page_gets_no_grant(gateway: TestClient, page: str, token) -> None:
    """The request is served (a program could send it anyway), but a browser hides the
    answer from the page: no Access-Control-Allow-Origin, and never "*"."""
    answer = await gateway.get("/catalog/auctions", headers=bearer(token()) | {"Origin": STRANGER})
    assert answer.status == 200
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert answer.headers["Vary"] == "Origin"


async def test_a_dashboard_registered_later_is_followed(
    gateway: TestClient, redis_client: redis.Redis
) -> None:
    """A second dashboard (a class's) is granted within the refresh, no restart."""
    assert "http://127.0.0.1:8010" not in parts(gateway).cors.dashboard_origins
    registry.register(redis_client, registration("dashboard-2", "dashboard", 8010))
    redis_client.persist(keys.registry("dashboard", "dashboard-2"))
    await async_wait_for(
        lambda: "http://127.0.0.1:8010" in parts(gateway).cors.dashboard_origins,
        "the second dashboard's origin",
        timeout=3 * cors.REFRESH_S + 2,
    )


# --- the dashboard's cookie ----------------------------------------------------------------


@pytest.fixture
async def auth_stand_in(gateway: TestClient, replicas: Replicas) -> AsyncIterator[list[dict]]:
    """An auth replica that answers {} and keeps the headers of every request it got."""
    seen: list[dict] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        seen.append(dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    replicas["auth"] = [registration("auth-1", "auth", server.sockets[0].getsockname()[1])]
    await parts(gateway).upstreams.refresh()
    yield seen
    server.close()


@pytest.mark.parametrize(("origin", "forwarded"), [(PAGE, True), (None, True), (STRANGER, False)])
async def test_the_dashboards_cookie_is_forwarded_only_for_its_pages(
    gateway: TestClient, page: str, auth_stand_in: list[dict], origin: str | None, forwarded: bool
) -> None:
    """POST /auth/token with the session cookie: the auth service gets it from a dashboard's
    page or a program, never from a stranger's page (who would mint an instructor's token)."""
    headers = {"Cookie": "sessionid=abc"} | ({"Origin": origin} if origin else {})
    answer = await gateway.post("/auth/token", json={"name": "i", "role": "instructor"},
                                headers=headers)  # fmt: skip
    assert answer.status == 200
    assert ("Cookie" in auth_stand_in[-1]) is forwarded


# --- the auction WebSocket -----------------------------------------------------------------


async def test_a_strangers_page_cannot_open_an_auction_socket(
    gateway: TestClient, page: str, token
) -> None:
    """403 origin_not_allowed before the upgrade, with a good token, and counted."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await gateway.ws_connect(
            f"/ws/auctions/{LAMP}/",
            protocols=("bearer", token("vera", "viewer")),
            headers={"Origin": STRANGER},
        )
    assert refused.value.status == 403
    assert parts(gateway).cors.refused == 1


@pytest.mark.parametrize("origin", [PAGE, None])
async def test_a_dashboards_page_or_a_program_opens_an_auction_socket(
    gateway: TestClient, page: str, token, origin: str | None
) -> None:
    """A dashboard's page, or no Origin at all (the bots): welcomed."""
    ws = await gateway.ws_connect(
        f"/ws/auctions/{LAMP}/",
        protocols=("bearer", token("vera", "viewer")),
        headers={"Origin": origin} if origin else {},
    )
    assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    await ws.close()
