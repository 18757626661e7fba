"""The lab socket on a real dashboard process (daphne) with the lab's real nodes, supervisor
and Redis: what crosses processes. (The LabConsumer and the requests' checks are tested in
process, in test_consumers.py.)"""

import asyncio
import json
import os

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


# --- instructors' requests, carried out by the supervisor ---------------------------------


async def test_instructor_adds_configures_and_removes_a_node(lab, instructor_cookies) -> None:
    """node.add starts node-4; node.config applies live (same pid); node.remove stops it."""
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "node.add"})
        added = (await next_frame(ws, "ack"))["node"]
        assert added == "node-4"
        state = lab.wait_until(
            lambda s: any(n["id"] == added and n["status"] == "up" for n in s["nodes"]),
            f"{added} up",
        )
        pid = next(n for n in state["nodes"] if n["id"] == added)["pid"]
        settings = {"capacity": 2, "latency_ms": 40, "jitter_ms": 10, "weight": 3}
        settings |= {"reject_above": 60, "shed_above": 70, "admission": "codel", "ws_limit": 9}
        await ws.send_json({"type": "node.config", "node": added, "settings": settings})
        assert (await next_frame(ws, "ack"))["action"] == "node.config"
        state = lab.wait_until(
            lambda s: any(n["id"] == added and n["capacity"] == 2 for n in s["nodes"]),
            "new settings applied",
        )
        node = next(n for n in state["nodes"] if n["id"] == added)
        assert (node["pid"], node["latency_ms"], node["jitter_ms"], node["weight"]) == (
            pid,
            40,
            10,
            3,
        )
        applied = {"ws_limit": 9, "reject_above": 60, "shed_above": 70, "admission": "codel"}
        assert {field: node["overload"][field] for field in applied} == applied
        bad = {"reject_above": 90, "shed_above": 50}
        await ws.send_json({"type": "node.config", "node": added, "settings": bad})
        refusal = await next_frame(ws, "error")
        assert "shed_above" in refusal["reason"] and "reject threshold" in refusal["reason"]
        await ws.send_json({"type": "node.config", "node": added, "settings": {"admission": "x"}})
        assert "admission" in (await next_frame(ws, "error"))["reason"]
        await ws.send_json({"type": "node.remove", "node": added})
        await next_frame(ws, "ack")
    lab.wait_for_nodes_up(3)


async def test_paused_node_is_shown_paused_and_resumes(lab, instructor_cookies) -> None:
    """Pause (SIGSTOP) freezes a node: it is "paused" (never "down" beside "alive, frozen"),
    also once its heartbeat has expired; resume brings it back up, same pid."""
    pid = lab.node("node-2")["pid"]
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "control", "action": "pause", "node": "node-2"})
        await next_frame(ws, "ack")
        lab.wait_until(lambda s: _node(s, "node-2")["status"] == "paused", "node-2 paused")
        state = lab.wait_until(  # its registration and metrics expire: the old "down"
            lambda s: _node(s, "node-2")["heartbeat_ts"] is None, "node-2's heartbeat expired"
        )
        paused = _node(state, "node-2")
        assert paused["status"] == "paused" and "alive, frozen" in paused["detail"]
        await ws.send_json({"type": "control", "action": "resume", "node": "node-2"})
        await next_frame(ws, "ack")
    state = lab.wait_for_nodes_up(3)
    assert next(n for n in state["nodes"] if n["id"] == "node-2")["pid"] == pid


async def test_instructor_kills_and_stops_over_the_socket(lab, instructor_cookies) -> None:
    """Instructor frames are acknowledged: kill is a crash (restarted), stop stays stopped."""
    before = lab.node("node-2")["pid"]
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        assert (await next_frame(ws, "welcome"))["user"]["instructor"] is True
        await ws.send_json({"type": "control", "action": "kill", "node": "node-2"})
        assert (await next_frame(ws, "ack"))["action"] == "kill"
        await next_frame(ws, "trace", lambda f: any(e["kind"] == "node.down" for e in f["events"]))
        lab.wait_until(
            lambda s: any(n["id"] == "node-2" and n["status"] == "up" and n["pid"] != before
                          for n in s["nodes"]),
            "node-2 back after the kill",
        )  # fmt: skip
        await ws.send_json({"type": "control", "action": "stop", "node": "node-2"})
        await next_frame(ws, "ack")
        lab.wait_until(
            lambda s: any(n["id"] == "node-2" and n["status"] == "stopped" for n in s["nodes"]),
            "node-2 stopped",
        )
        await ws.send_json({"type": "control", "action": "restart", "node": "node-2"})
        await next_frame(ws, "ack")
    lab.wait_for_nodes_up(3)
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)


def _node(state: dict, node_id: str) -> dict:
    return next(n for n in state["nodes"] if n["id"] == node_id)
