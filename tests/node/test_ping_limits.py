"""A node's POST /ping is bounded: the dashboards' pages (or no Origin) only, rate-limited."""

import json

import pytest
import redis
from django.test import AsyncRequestFactory

from archviz.core import keys
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.core.ratelimit import KeyedBuckets
from archviz.node import views
from archviz.node.runtime import NodeRuntime, set_runtime

DASHBOARD = "http://127.0.0.1:8000"


@pytest.fixture
def node(redis_url: str, dashboard_emitter) -> NodeRuntime:
    runtime = NodeRuntime("node-t")
    runtime.dashboard_origins = frozenset({DASHBOARD})
    set_runtime(runtime)
    return runtime


async def _ping(
    origin: str | None = None, trace: str = "t1", *, address: str = "10.0.0.9", lab: bool = False
) -> tuple[int, dict, dict]:
    headers = {"Origin": origin} if origin else {}
    if lab:
        headers[LAB_CLIENT_HEADER] = lab_client_token()
    request = AsyncRequestFactory().post(f"/ping?trace={trace}&nonce=n1", headers=headers)
    request.META["REMOTE_ADDR"] = address  # the caller's address
    response = await views.ping(request)
    return response.status_code, json.loads(response.content), dict(response.headers)


async def test_a_ping_from_a_foreign_page_is_refused_and_counted(
    node: NodeRuntime, redis_client: redis.Redis
):
    """Any site a learner visits could post to a node: only the dashboards' pages may."""
    status, body, _ = await _ping("http://evil.example")
    assert status == 403 and "only the dashboards' pages" in body["error"]
    assert node.pings_refused_total == 1
    assert redis_client.get(keys.ping_count("node-t")) is None  # nothing was published


async def test_the_dashboard_server_and_its_pages_may_ping(node: NodeRuntime):
    """No Origin (the dashboard's own server-side call) or a dashboard's origin is answered,
    and the pong carries the nonce it was sent."""
    status, body, _ = await _ping()
    assert status == 200 and body["nonce"] == "n1" and body["count"] == 1
    assert (await _ping(DASHBOARD))[0] == 200
    assert node.pings_refused_total == 0


async def test_pings_past_the_node_rate_get_429_counted(node: NodeRuntime):
    """Past the bucket the node answers 429 with Retry-After, and counts each refusal."""
    node.ping_buckets = KeyedBuckets(rate=0.001, burst=3)  # slow to refill
    results = [await _ping() for _ in range(5)]
    assert [status for status, _, _ in results] == [200, 200, 200, 429, 429]
    assert "too many pings" in results[-1][1]["error"]
    assert results[-1][2]["Retry-After"] == "1"
    assert node.pings_refused_total == 2
    assert node.metrics().extra["pings_refused_total"] == 2


async def test_a_flood_from_one_address_spends_only_its_own_pings(node: NodeRuntime):
    """A flood straight to the node (or through the balancer) leaves the dashboards' pings,
    and another address's, their own tokens; a forged lab-client header is an address."""
    node.ping_buckets = KeyedBuckets(rate=0.001, burst=3)
    flood = [await _ping(address="10.0.0.66") for _ in range(6)]
    assert [status for status, _, _ in flood].count(429) == 3
    forged = AsyncRequestFactory().post("/ping?trace=f", headers={LAB_CLIENT_HEADER: "forged"})
    forged.META["REMOTE_ADDR"] = "10.0.0.66"
    assert (await views.ping(forged)).status_code == 429
    assert [(await _ping(lab=True))[0] for _ in range(3)] == [200, 200, 200]
    assert (await _ping(address="10.0.0.7"))[0] == 200
