"""The node's endpoints in this process: work within capacity, its input checks, and the
node's half of a ping (a count and a pong in the real Redis)."""

import asyncio
import json
from collections.abc import Iterator

import pytest
import redis
from django.test import AsyncClient, override_settings

from archviz.core import keys
from archviz.core.http import MAX_WORK_MS, NODE_HEADER
from archviz.node import runtime as node_runtime
from archviz.node.runtime import NodeConfig, NodeRuntime
from tests.node.door_client import node_get


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch, dashboard_emitter) -> Iterator[NodeRuntime]:
    """This process plays node-3, with a capacity of 1, serving the node's URLs."""
    runtime = NodeRuntime("node-3")
    runtime.config = NodeConfig(capacity=1)
    monkeypatch.setattr(node_runtime, "_runtime", runtime)
    with override_settings(ROOT_URLCONF="archviz.node.urls", MIDDLEWARE=[]):
        yield runtime


async def test_work_beyond_capacity_and_its_queue_is_refused_with_retry_after(node) -> None:
    """Capacity 1: of 6 requests at once, 1 works and 2 wait (then work); 3 get 503."""
    responses = await asyncio.gather(*(node_get("/work?ms=400", lab=True) for _ in range(6)))
    assert sorted(r.status for r in responses) == [200, 200, 200, 503, 503, 503]
    assert all(r.headers[NODE_HEADER.lower()] == "node-3" for r in responses)
    assert all(r.headers["retry-after"] == "1" for r in responses if r.status == 503)
    assert sorted(r.headers["x-archviz-queued"] for r in responses if r.status == 200) == [
        "false",
        "true",
        "true",
    ]
    assert (node.gate.served_total, node.gate.rejected_total) == (3, 3)


@pytest.mark.parametrize("ms", ["-5", "lots", str(MAX_WORK_MS + 1), "nan"])
async def test_work_outside_its_range_is_a_400_naming_the_limit(node, ms: str) -> None:
    """Negative, non-numeric or too much work is refused before it takes a slot."""
    response = await node_get(f"/work?ms={ms}", lab=True)
    assert response.status == 400
    assert json.loads(response.body)["error"] == f"ms must be a number from 0 to {MAX_WORK_MS}"
    assert node.gate.served_total == 0


async def test_a_ping_is_counted_and_its_pong_published(node, redis_client: redis.Redis) -> None:
    """POST /ping counts the ping in Redis and publishes the pong the dashboard waits for."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.PONG_CHANNEL)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    try:
        response = await AsyncClient().post("/ping?trace=t-123&nonce=n-1")
        message = await asyncio.to_thread(pubsub.get_message, timeout=5)
    finally:
        pubsub.close()
    assert response.status_code == 200
    expected = {"trace": "t-123", "nonce": "n-1", "node": "node-3", "ts": 0, "count": 1}
    assert response.json() | {"ts": 0} == expected
    assert json.loads(message["data"])["nonce"] == "n-1"  # only the ping that asked resolves
    assert redis_client.get(keys.ping_count("node-3")) == b"1"


async def test_work_above_the_reject_threshold_is_refused_with_retry_after(node) -> None:
    """Pressure 0.93 > 0.80: 503 naming the pressure and its signal, counted, no slot taken."""
    node.latest_pressure = 0.93
    node.latest_reading = {"value": 0.93, "dominant": "cpu_percent"}
    response = await node_get("/work?ms=5")
    assert response.status == 503
    assert response.headers["retry-after"] == "1"
    assert json.loads(response.body) == {
        "node": "node-3",
        "error": "overloaded",
        "detail": "pressure 0.93 > 0.80 (cpu_percent)",
    }
    assert node.overload_counters.rejected_http_total == 1
    assert node.gate.served_total == node.gate.rejected_total == 0


async def test_work_at_the_reject_threshold_is_admitted(node) -> None:
    """Refused only strictly above: pressure 0.80 at a threshold of 80 % works."""
    node.latest_pressure = 0.8
    response = await node_get("/work?ms=1")
    assert response.status == 200
    assert node.overload_counters.rejected_http_total == 0


async def test_a_node_with_the_limiter_off_never_refuses_for_pressure(node) -> None:
    """Admission none and thresholds 100: even at pressure 1.0 the work is done."""
    node.config = NodeConfig(capacity=1, admission="none", reject_above=100, shed_above=100)
    node.latest_pressure = 1.0
    response = await node_get("/work?ms=1")
    assert response.status == 200
    assert node.overload_counters.rejected_http_total == 0


async def test_bad_work_is_a_400_even_when_overloaded(node) -> None:
    """Bad input is told so first: a retry would not help it."""
    node.latest_pressure = 1.0
    response = await node_get("/work?ms=lots")
    assert response.status == 400
    assert node.overload_counters.rejected_http_total == 0


async def test_work_on_a_node_full_of_sockets_is_refused_as_its_handshakes_are(node) -> None:
    """Sockets counted now at ws_limit: refused before the next report says so."""

    async def close(message: dict, code: int) -> None:
        return None

    node.config = NodeConfig(capacity=1, ws_limit=2)
    for _ in range(2):
        node.sockets.open("anonymous", close)
    response = await node_get("/work?ms=1")
    assert response.status == 503
    assert json.loads(response.body)["detail"] == "pressure 1.00 > 0.80 (websockets)"
