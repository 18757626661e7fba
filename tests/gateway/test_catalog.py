"""The catalog service: its application in process on the real Redis, then `manage.py
catalog` as a real process."""

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.core.registry import Registration, lookup
from archviz.gateway.auction import DEMO_ITEMS, open_auction, place_bid
from archviz.gateway.catalog import SERVICE_HEADER, make_app
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.trace.events import now_ms
from tests.harness.processes import ManagePy, command_env

integration = pytest.mark.integration
MINUTE_MS = 60_000


@pytest.fixture
async def catalog(redis_client: redis.Redis) -> AsyncIterator[TestClient]:
    """The catalog's application as replica catalog-1, on a test server."""
    async with TestClient(TestServer(make_app("catalog-1", lambda: redis_client))) as client:
        yield client


@pytest.fixture
def auctions(redis_client: redis.Redis) -> int:
    """Two auctions: "test-late" with a bid, and "test-over", ended and won. Now, in ms."""
    now = int(now_ms())
    open_auction(redis_client, "test-late", "Late lamp", 4_000, now + 10 * MINUTE_MS, now)
    place_bid(redis_client, "test-late", "alice", 5_000, now)
    open_auction(redis_client, "test-over", "Old chair", 1_000, now + 50, now)
    place_bid(redis_client, "test-over", "bob", 1_200, now)
    place_bid(redis_client, "test-over", "carol", 99_000, now + 60)  # too late: closes it
    return now


async def test_the_list_has_every_auction_soonest_to_end_first(
    catalog: TestClient, auctions: int
) -> None:
    """Each with its item's title, the current highest, its end, closed and the winner."""
    response = await catalog.get("/catalog/auctions")
    assert response.status == 200
    assert response.headers[SERVICE_HEADER] == "catalog-1"
    assert response.headers["Cache-Control"] == "no-store"
    listed = (await response.json())["auctions"]
    assert [a["id"] for a in listed] == ["test-over", "test-late"]
    over, late = listed
    assert (over["title"], over["highest_cents"], over["closed"], over["winner"]) == (
        "Old chair", 1_200, True, "bob",
    )  # fmt: skip
    assert (late["title"], late["highest_cents"], late["highest_bidder"]) == (
        "Late lamp", 5_000, "alice",
    )  # fmt: skip
    assert (late["closed"], late["winner"], late["ends_at_ms"]) == (
        False, "", auctions + 10 * MINUTE_MS,
    )  # fmt: skip


async def test_no_auctions_is_an_empty_list(catalog: TestClient) -> None:
    response = await catalog.get("/catalog/auctions")
    assert (response.status, await response.json()) == (200, {"auctions": []})


async def test_one_auction_is_its_view(catalog: TestClient, auctions: int) -> None:
    response = await catalog.get("/catalog/auctions/test-late")
    assert response.status == 200
    body = await response.json()
    assert body["id"] == "test-late"
    assert (body["start_cents"], body["highest_cents"], body["seq"]) == (4_000, 5_000, 2)


@pytest.mark.parametrize(
    "auction_id", ["nope", "NOPE", "a" * 200, "x%3Ay", "%F0%9F%A6%8A", "..%2F..%2Fetc"]
)
async def test_an_unknown_or_impossible_auction_is_a_json_404(
    catalog: TestClient, auction_id: str
) -> None:
    response = await catalog.get(f"/catalog/auctions/{auction_id}")
    assert response.status == 404
    body = await response.json()
    assert body["error"].startswith("there is no auction")
    assert len(body["error"]) < 80


@pytest.mark.parametrize("path", ["/catalog/", "/catalog/auctions/a/b", "/", "/catalog/items"])
async def test_a_wrong_path_is_a_json_404(catalog: TestClient, path: str) -> None:
    response = await catalog.get(path)
    assert response.status == 404
    assert response.headers[SERVICE_HEADER] == "catalog-1"
    assert (await response.json()) == {"error": "Not Found"}


async def test_a_wrong_method_is_a_json_405_saying_which_are_allowed(
    catalog: TestClient,
) -> None:
    """The catalog only reads: bids go to the bidding service."""
    response = await catalog.post("/catalog/auctions", json={"amount": 12})
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert (await response.json()) == {"error": "Method Not Allowed"}


async def test_health_is_ok_while_it_reaches_redis(catalog: TestClient) -> None:
    response = await catalog.get("/catalog/health")
    assert (response.status, await response.json()) == (200, {"ok": True, "id": "catalog-1"})


@pytest.mark.parametrize("path", ["/catalog/auctions", "/catalog/auctions/x", "/catalog/health"])
async def test_without_redis_it_answers_503_in_json(path: str) -> None:
    """A Redis that cannot be reached (nothing listens on its port) is a clear 503."""
    nowhere = sync_client(f"redis://127.0.0.1:{free_port('127.0.0.1')}/0")
    async with TestClient(TestServer(make_app("catalog-1", lambda: nowhere))) as client:
        response = await client.get(path)
        assert response.status == 503
        assert (await response.json()) == {"error": "the catalog cannot reach Redis"}


# --- the command ------------------------------------------------------------------------


@pytest.fixture
def catalog_process(redis_server: EmbeddedRedis, redis_client: redis.Redis) -> Iterator[tuple]:
    """`manage.py catalog --id catalog-1` on a free port: the process and its registration."""
    env = command_env(REDIS_URL=redis_server.url)
    with ManagePy("catalog", "--id", "catalog-1", env=env, name="catalog-1") as process:
        yield process, process.wait_registered(redis_client, "catalog")


@integration
async def test_the_command_serves_the_demo_auctions_and_404s(catalog_process: tuple) -> None:
    """It opens the demo's auctions if they are missing, and lists them."""
    _process, found = catalog_process
    base = f"http://127.0.0.1:{found.port}/catalog"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/auctions") as response:
            assert response.status == 200
            assert response.headers[SERVICE_HEADER] == "catalog-1"
            listed = (await response.json())["auctions"]
        async with session.get(f"{base}/auctions/no-such-thing") as response:
            assert response.status == 404
            assert "no auction" in (await response.json())["error"]
    assert sorted(a["id"] for a in listed) == sorted(item.id for item in DEMO_ITEMS)
    assert all(not a["closed"] and a["highest_cents"] == 0 for a in listed)


@integration
def test_sigterm_stops_it_and_takes_it_out_of_the_registry(
    catalog_process: tuple, redis_client: redis.Redis
) -> None:
    process, found = catalog_process
    assert isinstance(found, Registration) and found.port > 0
    process.stop(timeout=10)
    assert process.returncode == 0, process.output()
    assert lookup(redis_client, "catalog", "catalog-1") is None


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("catalog", id="catalog-1")


def test_its_id_is_required() -> None:
    with pytest.raises(CommandError, match="the following arguments are required: --id"):
        call_command("catalog")


def test_a_taken_port_is_refused_naming_it(listening_port: int) -> None:
    with pytest.raises(CommandError, match=f"port {listening_port} .* already in use"):
        call_command("catalog", id="catalog-1", port=listening_port, host="127.0.0.1")
