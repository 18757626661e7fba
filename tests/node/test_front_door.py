"""The node's front door (node/door.py): a /work request is refused (node/refusal.py) or waits
for its turn at the ASGI layer, before Django builds a request; only admitted work reaches
Django and the view. Driven as daphne drives it, through the node's ASGI application."""

import asyncio
from collections.abc import Iterator

import pytest
from django.core import signals
from django.test import override_settings

from archviz.core.http import MAX_WORK_MS, NODE_HEADER
from archviz.node import runtime as node_runtime
from archviz.node.asgi import NODE_MIDDLEWARE
from archviz.node.runtime import NodeConfig, NodeRuntime
from tests.harness.wait_for import async_wait_for
from tests.node.door_client import node_get


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch, dashboard_emitter) -> Iterator[NodeRuntime]:
    """This process plays node-3 with one slot and the fixed policy's queue of two."""
    runtime = NodeRuntime("node-3")
    runtime.config = NodeConfig(capacity=1)
    monkeypatch.setattr(node_runtime, "_runtime", runtime)
    with override_settings(MIDDLEWARE=NODE_MIDDLEWARE):
        yield runtime


@pytest.fixture
def django_requests() -> Iterator[list[str]]:
    """The paths Django built a request for (its request_started signal), in order."""
    seen: list[str] = []

    def started(sender, scope=None, **kwargs) -> None:
        seen.append(scope["path"] if scope else "?")

    signals.request_started.connect(started)
    yield seen
    signals.request_started.disconnect(started)


async def test_a_full_node_refuses_at_the_door(node, django_requests) -> None:
    """One working and two waiting: the next is a 503 naming the gate's state, with the
    node's name, Retry-After and its length, and counted as the gate's refusal."""
    held = [asyncio.create_task(node_get("/work?ms=300", lab=True)) for _ in range(3)]
    await async_wait_for(
        lambda: (node.gate.in_flight, node.gate.queued),
        "one request working and two waiting",
        until=lambda state: state == (1, 2),
        explain=lambda: str([t.result() if t.done() else "running" for t in held]),
    )
    status, headers, body = await node_get("/work?ms=5")
    assert django_requests == ["/work"]  # the one working: the waiting and the refused are
    # held and answered at the door
    assert status == 503
    assert (
        body
        == b'{"node": "node-3", "error": "over capacity", "detail": "1 working, 2 queued (limit)"}'
    )
    assert headers[NODE_HEADER.lower()] == "node-3"
    assert headers["retry-after"] == "1"
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(body))
    assert node.gate.rejected_total == 1
    assert [status for status, _h, _b in await asyncio.gather(*held)] == [200, 200, 200]


async def test_a_node_over_its_reject_threshold_refuses_at_the_door(node) -> None:
    """Pressure 0.93 over 0.80: the 503 names the pressure, counted as the node's."""
    node.latest_pressure = 0.93
    node.latest_reading = {"value": 0.93, "dominant": "cpu_percent"}
    status, _headers, body = await node_get("/work?ms=5")
    assert status == 503
    assert b'"detail": "pressure 0.93 > 0.80 (cpu_percent)"' in body
    assert node.overload_counters.rejected_http_total == 1


async def test_bad_work_at_a_full_node_is_still_a_400(node) -> None:
    """Bad input is told so first, at the door too; the last `ms` given is the one read."""
    node.latest_pressure = 1.0
    status, _headers, body = await node_get(f"/work?ms=5&ms={MAX_WORK_MS + 1}", lab=True)
    assert status == 400
    assert (
        body
        == f'{{"node": "node-3", "error": "ms must be a number from 0 to {MAX_WORK_MS}"}}'.encode()
    )
    assert node.overload_counters.rejected_http_total == 0


async def test_work_with_room_goes_on_to_the_view(node, django_requests) -> None:
    """A free slot: the view does the work and says how long it waited and worked."""
    status, headers, body = await node_get("/work?ms=1")
    assert django_requests == ["/work"]
    assert status == 200
    assert headers["x-archviz-queued"] == "false"
    assert b'"worked_ms"' in body
    await async_wait_for(
        lambda: node.gate.served_total, "the slot given back", until=lambda n: n == 1
    )


async def test_a_request_that_times_out_waiting_is_answered_at_the_door(node, django_requests):
    """CoDel's interval for a young queue (50 ms) runs out behind 300 ms of work: a 503 that
    says how long it waited, counted as a time-out; Django only ever saw the one working."""
    node.config = NodeConfig(capacity=1, admission="codel")
    working = asyncio.create_task(node_get("/work?ms=300", lab=True))
    await async_wait_for(lambda: node.gate.in_flight, "one request working", until=bool)
    status, headers, body = await node_get("/work?ms=5")
    assert status == 503 and headers["retry-after"] == "1"
    assert b'"error": "over capacity"' in body and b"in the queue" in body
    assert node.gate.timed_out_total == 1
    assert (await working).status == 200
    assert django_requests == ["/work"]
