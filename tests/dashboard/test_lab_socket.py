"""The lab page's WebSocket on a real dashboard process (daphne) with real nodes and Redis:
what crosses processes (the LabConsumer alone is tested in process, in test_consumers.py)."""

import asyncio
import json

import aiohttp
import pytest

from archviz.core import close_codes
from archviz.core.ports import free_port
from tests.harness.clients import lab_socket, next_frame, trace_events
from tests.harness.lab import RunningLab
from tests.harness.processes import ManagePy

pytestmark = pytest.mark.integration


async def test_ping_hops_dashboard_node_redis_dashboard_in_order(lab: RunningLab) -> None:
    """A ping is traced as three hops, each emitted by the process that made it."""
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "ping", "node": "node-1"})
        pong = await next_frame(ws, "pong")
        assert pong["node"] == "node-1" and pong["count"] >= 1
        events = sorted(await trace_events(ws, pong["trace"], 3), key=lambda e: e["ts"])
    hops = [(e["kind"], e["src"], e["dst"]) for e in events]
    assert hops == [
        ("http.request", "dashboard", "node-1"),
        ("pubsub.publish", "node-1", "redis"),
        ("pubsub.deliver", "redis", "dashboard"),
    ]
    assert all(e["ok"] for e in events)


async def test_oversized_frame_is_refused_with_close_code_1009(lab: RunningLab) -> None:
    """A frame over 64 KiB closes the socket with 1009 (message too big)."""
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        await ws.send_str(json.dumps({"type": "ping", "node": "x" * 70_000}))
        while (await asyncio.wait_for(ws.receive(), 10)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert ws.close_code == close_codes.MESSAGE_TOO_BIG
    async with lab_socket(lab.url) as ws:  # and the dashboard goes on serving
        assert (await next_frame(ws, "welcome"))["type"] == "welcome"


async def test_idle_socket_stays_open_and_still_receives_events(lab: RunningLab) -> None:
    """After more than 6 s without a trace event (redis-py's 5 s timeout), events still flow."""
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        await asyncio.sleep(6.5)  # the idle period is the behaviour under test
        assert not ws.closed
        async with lab_socket(lab.url) as other:
            await other.send_json({"type": "ping", "node": "node-2"})
            pong = await next_frame(other, "pong")
        assert len(await trace_events(ws, pong["trace"], 3)) == 3


async def test_a_second_dashboard_process_shows_the_same_live_lab(lab: RunningLab) -> None:
    """Two dashboards on one Redis: an event made through one reaches pages on both."""
    port = free_port("127.0.0.1")
    env = lab.env | {"REDIS_URL": lab.redis_url}
    with ManagePy("dashboard", "--port", str(port), env=env) as second:
        second_url = f"http://127.0.0.1:{port}"
        lab.wait_until(lambda s: len(s["dashboards"]) == 2, "second dashboard registered")
        async with lab_socket(lab.url) as first_ws, lab_socket(second_url) as second_ws:
            await next_frame(second_ws, "welcome")
            state = await next_frame(second_ws, "state")
            assert [n["id"] for n in state["state"]["nodes"]] == ["node-1", "node-2", "node-3"]
            await first_ws.send_json({"type": "ping", "node": "node-1"})
            pong = await next_frame(first_ws, "pong")
            seen = await trace_events(second_ws, pong["trace"], 3)
        assert {e["kind"] for e in seen} == {"http.request", "pubsub.publish", "pubsub.deliver"}
        second.stop()
    assert second.returncode == 0, second.output()
