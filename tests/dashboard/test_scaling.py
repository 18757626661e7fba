"""Instructors scale and reconfigure nodes from the page; learners cannot."""

import asyncio

import pytest

from tests.harness.clients import lab_socket, login_cookies, next_frame
from tests.harness.lab import RunningLab

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
