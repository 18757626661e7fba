"""Real nodes refuse a WebSocket over their limit (4013) and shed down to their threshold
(4014) without ever shedding an instructor; their heartbeats count both."""

import json
import time
from collections.abc import Iterator

import aiohttp
import pytest
import redis

from archviz.core import close_codes, keys, registry
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.node.sockets import RETRY_AFTER_MS, SHED_RETRY_AFTER_MS, issue_ticket
from tests.balancer.conftest import BalancerLab
from tests.harness.wait_for import async_wait_for

REFUSING, SHEDDING = "node-refuses", "node-sheds"


@pytest.fixture(scope="module")
def lab(redis_server: EmbeddedRedis) -> Iterator[BalancerLab]:
    """Two nodes that never shed by pressure to begin with, each with room for a few sockets."""
    lab = BalancerLab(redis_server.url)
    lab.redis.flushdb()
    never = {"reject_above": 100, "shed_above": 100}
    try:
        lab.start_node(REFUSING, ws_limit=3, **never)
        lab.start_node(SHEDDING, ws_limit=10, shed_policy="newest", **never)
        lab.wait_registered("node", {REFUSING, SHEDDING})
        yield lab
    finally:
        lab.stop_all()


def _url(lab: BalancerLab, node: str, query: str) -> str:
    port = next(r.port for r in registry.registered(lab.redis, "node") if r.id == node)
    return f"ws://127.0.0.1:{port}/ws/hold/?{query}"


def _overload(lab: BalancerLab, node: str) -> dict:
    return lab.node_metrics(node).get("extra", {}).get("overload", {})


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[dict], int]:
    """The frames before the node closed the socket, and its close code."""
    frames = []
    while (message := await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT:
        frames.append(json.loads(message.data))
    assert message.type == aiohttp.WSMsgType.CLOSE, (message, frames)
    return frames, message.data  # what the node sent (aiohttp's close_code races its reply)


def _shed_events(pubsub: redis.client.PubSub, total: int, timeout: float = 10) -> list[dict]:
    """shed.disconnect events until they add up to `total` sockets."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while sum(e["detail"]["count"] for e in events) < total:
        assert time.monotonic() < deadline, f"shed.disconnect events so far: {events}"
        if message := pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1):
            events += [e for e in json.loads(message["data"]) if e["kind"] == "shed.disconnect"]
    return events


async def test_a_node_at_its_ws_limit_refuses_the_next_socket_with_4013(lab: BalancerLab):
    """ws_limit 3: three hellos, then `overloaded` with a retry hint and 4013, counted; a
    chat socket on the same node too."""
    async with aiohttp.ClientSession() as session:
        held = [await session.ws_connect(_url(lab, REFUSING, "client=bot")) for _ in range(3)]
        for ws in held:
            assert (await ws.receive_json(timeout=10))["type"] == "hello"
        refused = await session.ws_connect(_url(lab, REFUSING, ""))
        frames, code = await _closed(refused)
        assert code == close_codes.OVERLOADED
        reason = "3 WebSockets open: the node's limit is 3"
        hint = {"retry_after_ms": RETRY_AFTER_MS, "pressure": 1.0, "reason": reason}
        assert frames == [{"type": "overloaded", "node": REFUSING} | hint]
        chat = await session.ws_connect(
            _url(lab, REFUSING, "").replace("/ws/hold/", "/ws/chat/r1/")
        )
        frames, code = await _closed(chat)  # the chat's sockets count against the same limit
        assert code == close_codes.OVERLOADED and frames[0]["type"] == "overloaded"
        overload = await async_wait_for(
            lambda: _overload(lab, REFUSING),
            f"{REFUSING}'s heartbeat counting both refusals",
            until=lambda o: o.get("rejected_ws_total") == 2,
        )
        for ws in held:
            await ws.close()
    assert overload["handshakes_total"] == 5 and overload["ws_limit"] == 3


async def test_shedding_brings_a_node_under_and_never_sheds_an_instructor(lab: BalancerLab):
    """10 of ws_limit 10 open, then shed_above 50 %: the five bots go (the newest first would
    be the instructors), the five instructors stay; the node is back at 0.5, not shedding."""
    ticket = issue_ticket("instructor", "ingrid")
    async with aiohttp.ClientSession() as session:
        bots = [await session.ws_connect(_url(lab, SHEDDING, "client=bot")) for _ in range(5)]
        instructor = _url(lab, SHEDDING, f"ticket={ticket}")
        teachers = [await session.ws_connect(instructor) for _ in range(5)]
        roles = [(await ws.receive_json(timeout=10))["role"] for ws in bots + teachers]
        assert roles == ["bot"] * 5 + ["instructor"] * 5  # the node reads the test's ticket
        with lab.trace() as pubsub:
            lab.redis.hset(
                keys.node_config(SHEDDING), mapping={"reject_above": 50, "shed_above": 50}
            )
            pressures = []
            for ws in bots:
                frames, code = await _closed(ws)
                assert code == close_codes.SHED
                assert [f["type"] for f in frames] == ["shed"]
                assert frames[0]["retry_after_ms"] == SHED_RETRY_AFTER_MS
                pressures.append(frames[0]["pressure"])
            assert pressures == [0.6, 0.7, 0.8, 0.9, 1.0]  # one a batch, the newest bot first
            events = _shed_events(pubsub, total=5)
        extra = await async_wait_for(
            lambda: lab.node_metrics(SHEDDING).get("extra", {}),
            f"{SHEDDING}'s heartbeat: five shed, not shedding, five sockets left",
            until=lambda e: (
                e["overload"]["shed_total"] == 5
                and e["overload"]["shedding"] is False
                and e["websockets"] == 5
            ),
        )
        for ws in teachers:  # still open, and told nothing in between
            await ws.send_str("still here")
            assert (await ws.receive_json(timeout=10))["type"] == "echo"
            await ws.close()
    assert all(e["detail"]["roles"] == {"bot": e["detail"]["count"]} for e in events)
    assert {e["detail"]["policy"] for e in events} == {"newest"}
    assert extra["overload"]["shed_above"] == 50
    assert extra["pressure"]["normalised"]["websockets"] == 0.5  # at the threshold, not over
