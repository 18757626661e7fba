"""Pinging a node in a running lab: the dashboard's pings pass, a foreign page's do not, and
a pong forged with a trace id read off the log does not answer the learner's ping."""

import asyncio

import aiohttp
import pytest

from tests.harness.clients import lab_socket, next_frame
from tests.harness.lab import RunningLab

pytestmark = pytest.mark.integration


async def _post_ping(port: int, origin: str | None, trace: str = "forged") -> int:
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/ping"
        async with session.post(url, params={"trace": trace}, headers=headers) as response:
            return response.status


def _set_latency(lab: RunningLab, node: str, ms: int) -> None:
    lab.shell(
        "from archviz.dashboard.models import Node; "
        f"Node.objects.filter(name={node!r}).update(latency_ms={ms})"
    )
    lab.wait_until(
        lambda s: any(n["id"] == node and n["latency_ms"] == ms for n in s["nodes"]),
        f"{node} latency {ms} ms applied",
    )


async def test_nodes_answer_only_the_dashboards_pages(lab: RunningLab) -> None:
    """A node learns the dashboards' origins from the registry: theirs pass, others get 403."""
    port = lab.node("node-2")["port"]
    assert await _post_ping(port, "http://evil.example") == 403
    for _ in range(100):  # the node reads the origins on each heartbeat (0.5 s)
        if await _post_ping(port, lab.url) == 200:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"a ping from the dashboard's page {lab.url} was never answered")


async def test_a_pong_forged_on_another_node_does_not_answer_the_learners_ping(
    lab: RunningLab,
) -> None:
    """While node-1 takes 1 s to answer, someone posts /ping with the learner's trace id
    (public on the log) to node-2: its pong is ignored, and the pong delivered to the
    learner's ping is node-1's own."""
    _set_latency(lab, "node-1", 1000)
    try:
        async with lab_socket(lab.url) as ws:
            await next_frame(ws, "welcome")
            await ws.send_json({"type": "ping", "node": "node-1"})
            frame = await next_frame(ws, "trace", _ping_request)
            trace = next(e["trace"] for e in frame["events"] if _is_ping_request(e))
            assert await _post_ping(lab.node("node-2")["port"], None, trace) == 200
            pong = await next_frame(ws, "pong")
            frame = await next_frame(ws, "trace", lambda f: _delivered(f, trace) is not None)
        assert pong["trace"] == trace and pong["node"] == "node-1"
        assert _delivered(frame, trace)["detail"]["from"] == "node-1"  # not node-2's forgery
    finally:
        _set_latency(lab, "node-1", 0)


def _is_ping_request(event: dict) -> bool:
    return event["kind"] == "http.request" and event["dst"] == "node-1"


def _ping_request(frame: dict) -> bool:
    return any(_is_ping_request(e) for e in frame["events"])


def _delivered(frame: dict, trace: str) -> dict | None:
    """The frame's pubsub.deliver event of this trace: the pong the dashboard took."""
    found = (e for e in frame["events"] if e["kind"] == "pubsub.deliver" and e["trace"] == trace)
    return next(found, None)


async def test_a_ping_flood_at_a_node_does_not_spend_the_learners_pings(lab: RunningLab) -> None:
    """200 pings posted straight to node-3 drain its tokens for that address (429s), and a
    learner's ping through the dashboard is still answered: the dashboards' own."""
    port = lab.node("node-3")["port"]
    statuses = await asyncio.gather(*(_post_ping(port, None) for _ in range(200)))
    assert 429 in statuses
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "ping", "node": "node-3"})
        pong = await next_frame(ws, "pong")
    assert pong["node"] == "node-3"
