"""Instructors scale and reconfigure nodes from the page; learners cannot."""

import asyncio
import os

import aiohttp
import pytest

from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from tests.clients import lab_socket, login_cookies, next_frame
from tests.running_lab import RunningLab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def instructor_cookies(lab: RunningLab) -> dict[str, str]:
    lab.create_user("scaler", "scaling-instructor-pw-5", instructor=True)
    return asyncio.run(login_cookies(lab.url, "scaler", "scaling-instructor-pw-5"))


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
        await ws.send_json({"type": "node.remove", "node": added})
        await next_frame(ws, "ack")
    lab.wait_for_nodes_up(3)


async def test_bad_node_settings_are_refused_with_the_reason(lab, instructor_cookies) -> None:
    """Out-of-range or non-numeric settings, or an unknown node, get an error frame."""
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        await next_frame(ws, "welcome")
        for message, reason in [
            ({"node": "node-1", "settings": {"capacity": 0}}, "capacity"),
            ({"node": "node-1", "settings": {"capacity": "lots"}}, "whole numbers"),
            ({"node": "node-1", "settings": {}}, "whole numbers"),
            ({"node": "node-99", "settings": {"capacity": 3}}, "no node called"),
        ]:
            await ws.send_json({"type": "node.config"} | message)
            frame = await next_frame(ws, "error")
            assert reason in frame["reason"] and frame["request"] == "node.config"
        await ws.send_json({"type": "traffic", "rate": 9000, "work_ms": 1, "variance_ms": 0,
                            "ws_clients": 0})  # fmt: skip
        assert "rate must be from 0 to 500" in (await next_frame(ws, "error"))["reason"]
        await ws.send_json({"type": "lb.algorithm", "algorithm": "telepathy"})
        assert "unknown algorithm" in (await next_frame(ws, "error"))["reason"]
    assert lab.node("node-1")["capacity"] == 10


async def test_learner_cannot_scale_or_reconfigure(lab: RunningLab) -> None:
    """Every instructor-only frame from a learner is refused on the server."""
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        for message in [
            {"type": "node.add"},
            {"type": "node.remove", "node": "node-1"},
            {"type": "node.config", "node": "node-1", "settings": {"capacity": 1}},
            {"type": "lb.algorithm", "algorithm": "random"},
            {"type": "traffic", "rate": 10, "work_ms": 1, "variance_ms": 0, "ws_clients": 0},
            {"type": "control", "action": "pause", "node": "node-1"},
        ]:
            await ws.send_json(message)
            assert "only instructors" in (await next_frame(ws, "error"))["reason"]
    assert len(lab.state()["nodes"]) == 3


async def test_paused_node_is_shown_down_and_resumes(lab, instructor_cookies) -> None:
    """Pause (SIGSTOP) freezes a node: its heartbeat stops; resume brings it back, same pid."""
    pid = lab.node("node-2")["pid"]
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "control", "action": "pause", "node": "node-2"})
        await next_frame(ws, "ack")
        state = lab.wait_until(
            lambda s: any(n["id"] == "node-2" and n["status"] == "down" for n in s["nodes"]),
            "paused node-2 seen down",
        )
        assert "paused" in next(n for n in state["nodes"] if n["id"] == "node-2")["detail"]
        await ws.send_json({"type": "control", "action": "resume", "node": "node-2"})
        await next_frame(ws, "ack")
    state = lab.wait_for_nodes_up(3)
    assert next(n for n in state["nodes"] if n["id"] == "node-2")["pid"] == pid


async def test_node_work_honours_capacity_and_validates_input(lab: RunningLab) -> None:
    """Straight to a node: beyond capacity and its queue, requests get 503 + Retry-After."""
    lab.shell(
        "from archviz.dashboard.models import Node; "
        "Node.objects.filter(name='node-3').update(capacity=1)"
    )
    lab.wait_until(
        lambda s: any(n["id"] == "node-3" and n["capacity"] == 1 for n in s["nodes"]),
        "capacity 1 applied",
    )
    port = lab.node("node-3")["port"]
    base = f"http://127.0.0.1:{port}"
    # 400 ms is more than anyone may ask: the test speaks as the lab's traffic generator
    secret = os.environ.get("ARCHVIZ_SECRET_KEY") or (lab.var_dir / "secret_key").read_text()
    lab_client = {LAB_CLIENT_HEADER: lab_client_token(secret.strip())}
    async with aiohttp.ClientSession(headers=lab_client) as client:

        async def one() -> tuple[int, dict]:
            async with client.get(f"{base}/work", params={"ms": "400"}) as response:
                return response.status, dict(response.headers)

        results = await asyncio.gather(*(one() for _ in range(6)))
        async with client.get(f"{base}/work", params={"ms": "-5"}) as bad:
            assert bad.status == 400
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 200, 503, 503, 503]  # 1 working + 2 queued, the rest refused
    assert all(h["X-Archviz-Node"] == "node-3" for _, h in results)
    assert all(h.get("Retry-After") == "1" for status, h in results if status == 503)
    lab.shell(
        "from archviz.dashboard.models import Node; "
        "Node.objects.filter(name='node-3').update(capacity=10)"
    )
