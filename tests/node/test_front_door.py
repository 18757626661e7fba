"""The node's front door (node/asgi.py): a /work request that node/refusal.py refuses is
answered at the ASGI layer, before Django builds a request, exactly as the view would answer
it; anything else goes on to the view. Driven as daphne drives it, through the ASGI app."""

import asyncio
from collections.abc import Iterator

import pytest
from channels.testing import HttpCommunicator
from django.core import signals
from django.test import override_settings

from archviz.core.http import LAB_CLIENT_HEADER, MAX_WORK_MS, NODE_HEADER, lab_client_token
from archviz.node import runtime as node_runtime
from archviz.node.asgi import NODE_MIDDLEWARE, NodeHandler
from archviz.node.runtime import NodeConfig, NodeRuntime
from tests.harness.wait_for import async_wait_for


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


async def _get(path: str, *, lab: bool = False) -> tuple[int, dict[str, str], bytes]:
    headers = [(b"host", b"127.0.0.1:8001")]
    if lab:
        headers.append((LAB_CLIENT_HEADER.lower().encode(), lab_client_token().encode()))
    response = await HttpCommunicator(NodeHandler(), "GET", path, headers=headers).get_response(
        timeout=5
    )
    fields = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    return response["status"], fields, response["body"]


async def test_a_full_node_refuses_at_the_door_as_the_view_would(node, django_requests) -> None:
    """One working and two waiting: the next is a 503 naming the gate's state, with the
    node's name, Retry-After and its length, and counted as the gate's refusal."""
    held = [asyncio.create_task(_get("/work?ms=300", lab=True)) for _ in range(3)]
    await async_wait_for(
        lambda: (node.gate.in_flight, node.gate.queued),
        "one request working and two waiting",
        until=lambda state: state == (1, 2),
        explain=lambda: str([t.result() if t.done() else "running" for t in held]),
    )
    status, headers, body = await _get("/work?ms=5")
    assert len(django_requests) == 3  # the three held ones only: Django never saw the refusal
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
    status, _headers, body = await _get("/work?ms=5")
    assert status == 503
    assert b'"detail": "pressure 0.93 > 0.80 (cpu_percent)"' in body
    assert node.overload_counters.rejected_http_total == 1


async def test_bad_work_at_a_full_node_is_still_a_400(node) -> None:
    """Bad input is told so first, at the door too; the last `ms` given is the one read."""
    node.latest_pressure = 1.0
    status, _headers, body = await _get(f"/work?ms=5&ms={MAX_WORK_MS + 1}", lab=True)
    assert status == 400
    assert (
        body
        == f'{{"node": "node-3", "error": "ms must be a number from 0 to {MAX_WORK_MS}"}}'.encode()
    )
    assert node.overload_counters.rejected_http_total == 0


async def test_work_with_room_goes_on_to_the_view(node, django_requests) -> None:
    """A free slot: the view does the work and says how long it waited and worked."""
    status, headers, body = await _get("/work?ms=1")
    assert django_requests == ["/work"]
    assert status == 200
    assert headers["x-archviz-queued"] == "false"
    assert b'"worked_ms"' in body
    assert node.gate.served_total == 1
