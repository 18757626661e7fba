"""The load balancer as a real process in front of real nodes, on a real Redis."""

import asyncio
import json
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from archviz.balancer import keys as balancer_keys
from archviz.balancer.app import stored_algorithm
from archviz.balancer.proxy import may_retry
from archviz.core import keys, registry
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.core.ports import free_port
from archviz.core.registry import Registration, now_ms
from tests.balancer.conftest import (
    HOST,
    LONE_IDLE_TIMEOUT_S,
    NODE,
    BalancerLab,
    get,
    pubsub_events,
    raw_exchange,
    registered,
    served_by,
    status_of,
    sticky,
)
from tests.harness.supervised import register_as_supervised
from tests.harness.wait_for import async_wait_for, wait_for

pytestmark = pytest.mark.integration

ALL = {"node-1", "node-2", "node-3"}


# --- routing ------------------------------------------------------------------------


def test_round_robin_sends_each_node_an_equal_share(balancer_lab: BalancerLab) -> None:
    """Round robin: 30 requests, 10 served by each node, as X-Archviz-Node says."""
    balancer_lab.set_algorithm("round_robin")
    served = Counter(served_by(balancer_lab.url + "/work?ms=0") for _ in range(30))
    assert served == {"node-1": 10, "node-2": 10, "node-3": 10}


def test_switching_to_weighted_round_robin_follows_the_weights(balancer_lab: BalancerLab) -> None:
    """A control command switches live to weighted round robin: weights 3, 1, 1 → 60/20/20."""
    balancer_lab.set_algorithm("weighted_round_robin")
    served = Counter(served_by(balancer_lab.url + "/work?ms=0") for _ in range(100))
    assert abs(served["node-1"] - 60) <= 5, served
    assert abs(served["node-2"] - 20) <= 5 and abs(served["node-3"] - 20) <= 5, served
    assert balancer_lab.redis.get(balancer_keys.ALGORITHM) == b"weighted_round_robin"


def test_an_unknown_algorithm_keeps_the_current_one(balancer_lab: BalancerLab) -> None:
    """A command naming no known algorithm is ignored; the balancer carries on as it was."""
    balancer_lab.set_algorithm("random")
    with balancer_lab.trace() as pubsub:
        balancer_lab.send_algorithm("fastest")
        balancer_lab.send_algorithm("random", by="sentinel")  # handled after the bad one
        events = pubsub_events(
            pubsub, lambda e: e["kind"] == "lb.algorithm" and e["detail"]["by"] == "sentinel"
        )
    switches = [e["detail"] for e in events if e["kind"] == "lb.algorithm"]
    assert switches == [{"from": "random", "to": "random", "by": "sentinel", "listener": "nodes"}]
    assert balancer_lab.lb.alive()
    assert balancer_lab.redis.get(balancer_keys.ALGORITHM) == b"random"


def test_consistent_hash_keeps_a_sticky_cookie_on_one_node(balancer_lab: BalancerLab) -> None:
    """Consistent hash: the same archviz_sticky cookie always reaches the same node."""
    balancer_lab.set_algorithm("consistent_hash")
    homes = {}
    for cookie in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"):
        nodes = {served_by(balancer_lab.url + "/work?ms=0", sticky(cookie)) for _ in range(5)}
        assert len(nodes) == 1, f"{cookie} was served by {nodes}"
        homes[cookie] = nodes.pop()
    assert len(set(homes.values())) >= 2, homes  # different keys spread over the ring


async def test_least_connections_avoids_the_node_holding_a_websocket(
    balancer_lab: BalancerLab,
) -> None:
    """Least connections: while a WebSocket holds one node, requests go to the other two."""
    balancer_lab.set_algorithm("least_connections")
    url = f"ws://{HOST}:{balancer_lab.lb_port}/ws/hold/"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url) as ws,
    ):
        held = (await ws.receive_json(timeout=5))["node"]
        served = Counter()
        for _ in range(10):
            async with session.get(balancer_lab.url + "/work?ms=0") as response:
                assert response.status == 200
                served[response.headers[NODE]] += 1
    assert held not in served
    assert served == dict.fromkeys(ALL - {held}, 5)


# --- what the nodes and the dashboard see ---------------------------------------------


def test_each_request_publishes_one_route_event_with_its_reason(balancer_lab: BalancerLab) -> None:
    """Every routed request is one lb.route trace event: where, why, and how it went."""
    balancer_lab.set_algorithm("round_robin")
    with balancer_lab.trace() as pubsub:
        status, headers, _ = get(balancer_lab.url + "/work?ms=5")
        events = pubsub_events(pubsub, lambda e: e["kind"] == "lb.route")
    route = events[-1]
    assert status == 200
    assert (route["src"], route["dst"], route["demo"], route["ok"]) == (
        "lb",
        headers[NODE],
        "lb",
        True,
    )
    assert route["detail"]["reason"].startswith("round robin: ")
    assert route["detail"]["outcome"] == "ok" and route["detail"]["status"] == 200
    assert route["detail"]["path"] == "/work" and route["detail"]["client"] == HOST
    assert route["ms"] >= 5


def test_responses_carry_cors_headers_for_the_dashboard(balancer_lab: BalancerLab) -> None:
    """A learner's tab on another origin may read which node answered a GET."""
    _, headers, _ = get(balancer_lab.url + "/work?ms=0", {"Origin": "http://127.0.0.1:8000"})
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Expose-Headers"] == NODE


async def test_a_websocket_stays_pinned_to_its_node(balancer_lab: BalancerLab) -> None:
    """A WebSocket through the balancer talks to one node for its whole life."""
    balancer_lab.set_algorithm("round_robin")
    url = f"ws://{HOST}:{balancer_lab.lb_port}/ws/hold/"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url) as ws,
    ):
        hello = await ws.receive_json(timeout=5)
        pinned = hello["node"]
        for number in range(5):
            await ws.send_str(f"message {number}")
            echo = await ws.receive_json(timeout=5)
            assert echo == {"type": "echo", "node": pinned, "text": f"message {number}"}
        await async_wait_for(
            lambda: balancer_lab.backends()[pinned]["websockets"] == 1, "the LB counting it"
        )
        await ws.close(code=4000)
    await async_wait_for(lambda: balancer_lab.backends()[pinned]["websockets"] == 0, "LB count 0")
    await async_wait_for(
        lambda: balancer_lab.node_metrics(pinned)["extra"]["websockets"] == 0,
        "the node's side closed too",
    )


async def test_a_websocket_with_a_foreign_origin_gets_the_nodes_refusal(
    balancer_lab: BalancerLab,
) -> None:
    """The Origin header is passed on, so the node's origin check still protects it."""
    url = f"ws://{HOST}:{balancer_lab.lb_port}/ws/hold/"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url, origin="http://evil.example")
    assert refused.value.status == 403


# --- failures ---------------------------------------------------------------------------


async def test_a_killed_node_costs_no_idempotent_request(balancer_lab: BalancerLab) -> None:
    """SIGKILL a node mid-traffic: every GET still succeeds, retried on another node."""
    balancer_lab.set_algorithm("round_robin")
    victim = balancer_lab.nodes["node-3"]
    statuses, served = [], []
    try:
        with balancer_lab.trace() as pubsub:
            async with aiohttp.ClientSession() as session:
                for number in range(200):
                    if number == 50:
                        os.kill(victim.pid, signal.SIGKILL)
                        victim.popen.wait()
                    async with session.get(balancer_lab.url + "/work?ms=0") as response:
                        statuses.append(response.status)
                        served.append(response.headers[NODE])
            retry = pubsub_events(pubsub, lambda e: e["kind"] == "lb.retry")[-1]
        assert statuses == [200] * 200
        assert "node-3" in served[:50] and "node-3" not in served[50:]
        assert retry["dst"] == "node-3" and retry["detail"]["retry_on"] in ALL - {"node-3"}
        await async_wait_for(
            lambda: (
                balancer_lab.backends().get("node-3", {}).get("health", "gone")
                in ("ejected", "unhealthy", "gone")
            ),
            "node-3 out of rotation",
        )
    finally:
        balancer_lab.start_node("node-3")
        balancer_lab.wait_registered("node", ALL)
        balancer_lab.wait_until_routable(ALL)


async def test_a_node_at_capacity_rejects_while_the_others_serve(
    balancer_lab: BalancerLab,
) -> None:
    """Capacity 1: a burst pinned to one node is partly queued, partly 503; others are served."""
    balancer_lab.set_algorithm("consistent_hash")
    homes: dict[str, str] = {}  # node -> a cookie that the hash ring sends there
    for cookie in (f"k{number}" for number in range(100)):
        homes.setdefault(served_by(balancer_lab.url + "/work?ms=0", sticky(cookie)), cookie)
        if {"node-1", "node-2"} <= set(homes):
            break
    busy, other = homes["node-2"], homes["node-1"]
    config = keys.node_config("node-2")
    balancer_lab.redis.hset(config, "capacity", 1)
    try:
        await async_wait_for(
            lambda: balancer_lab.node_metrics("node-2")["extra"]["capacity"] == 1, "capacity 1"
        )
        counted_before = _counted(balancer_lab, "node-2")
        with balancer_lab.trace() as pubsub:
            async with aiohttp.ClientSession() as session:

                async def fetch(cookie: str, ms: int) -> tuple[int, str]:
                    url = f"{balancer_lab.url}/work?ms={ms}"
                    # 500 ms: more than anyone but the lab's own clients may ask for
                    lab_client = {LAB_CLIENT_HEADER: lab_client_token()}
                    async with session.get(url, headers=sticky(cookie) | lab_client) as response:
                        await response.read()
                        return response.status, response.headers[NODE]

                burst = [fetch(busy, 500) for _ in range(8)]
                others = [fetch(other, 50) for _ in range(8)]
                results = await asyncio.gather(*burst, *others)
            routes = [e for e in pubsub_events(pubsub, _nth_route(16)) if e["kind"] == "lb.route"]
    finally:
        balancer_lab.redis.hset(config, "capacity", 10)
    busy_results, other_results = results[:8], results[8:]
    assert {node for _, node in busy_results} == {"node-2"}
    statuses = Counter(status for status, _ in busy_results)
    assert set(statuses) == {200, 503}  # 1 working, 2 queued at most, the rest refused
    assert other_results == [(200, "node-1")] * 8
    outcomes = Counter((e["dst"], e["detail"]["outcome"]) for e in routes)
    assert outcomes[("node-2", "rejected")] == statuses[503]
    assert outcomes[("node-2", "ok")] + outcomes[("node-2", "queued")] == statuses[200]
    assert outcomes[("node-2", "queued")] >= 1 and outcomes[("node-1", "ok")] == 8
    # the balancer counts the node's 503s as refused, apart from its errors
    refused_before, errors_before = counted_before
    await async_wait_for(
        lambda: _counted(balancer_lab, "node-2")[0] - refused_before >= statuses[503],
        "the refusals counted",
    )
    assert _counted(balancer_lab, "node-2") == (refused_before + statuses[503], errors_before)
    await async_wait_for(
        lambda: balancer_lab.node_metrics("node-2")["extra"]["capacity"] == 10, "capacity back"
    )


def _counted(balancer_lab: BalancerLab, node: str) -> tuple[int, int]:
    """(refused, errors) the balancer's last report counts for a node."""
    backend = balancer_lab.backends().get(node, {})
    return backend.get("refused_total", 0), backend.get("errors_total", 0)


def _nth_route(n: int) -> Callable[[dict], bool]:
    """A stop condition: the n-th lb.route event."""
    seen = Counter()

    def reached(event: dict) -> bool:
        seen[event["kind"]] += 1
        return seen["lb.route"] >= n

    return reached


async def test_bad_requests_are_refused_while_good_ones_are_served(
    balancer_lab: BalancerLab,
) -> None:
    """Malformed or oversized requests get 400/414/431 and never disturb other clients."""
    port = balancer_lab.lb_port

    async def traffic() -> list[int]:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(60):
                async with session.get(balancer_lab.url + "/work?ms=1") as response:
                    statuses.append(response.status)
            return statuses

    running = asyncio.create_task(traffic())
    garbage = await asyncio.to_thread(raw_exchange, port, b"NONSENSE\r\n\r\n")
    huge_header = b"GET /work HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    huge = await asyncio.to_thread(raw_exchange, port, huge_header)
    many = b"".join(f"X-H{n}: v\r\n".encode() for n in range(300))
    crowded = await asyncio.to_thread(
        raw_exchange, port, b"GET /work HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"
    )
    long_url = b"GET /work?pad=" + b"p" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    too_long = await asyncio.to_thread(raw_exchange, port, long_url)
    assert [status_of(garbage), status_of(huge), status_of(crowded), status_of(too_long)] == [
        400,
        431,
        431,
        414,
    ]
    assert b"X-Archviz-Node: none" in huge
    assert await running == [200] * 60
    assert balancer_lab.lb.alive()


# --- a balancer of its own: no nodes, or one we make ------------------------------------


async def test_a_reset_connection_costs_no_idempotent_request(
    lone_lab: BalancerLab, echo_backend: str, resetting_backend: str
) -> None:
    """A node that resets connections (a SIGKILLed node's pooled keep-alives): every GET is
    retried on the other node and succeeds."""
    lone_lab.set_algorithm("round_robin")
    with lone_lab.trace() as pubsub:
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(6):
                async with session.get(lone_lab.url + "/work?ms=0") as response:
                    statuses.append(response.status)
        seen = pubsub_events(pubsub, lambda e: e["kind"] == "lb.retry")
    retries = [e for e in seen if e["kind"] == "lb.retry"]
    assert statuses == [200] * 6
    assert retries and {e["dst"] for e in retries} == {resetting_backend}
    assert {e["detail"]["retry_on"] for e in retries} == {echo_backend}


@pytest.mark.parametrize(
    ("method", "refused", "attempts", "retried"),
    [("POST", True, 1, True), ("GET", True, 1, True), ("GET", False, 1, True),
     ("POST", False, 1, False), ("POST", True, 2, False), ("GET", False, 2, False)],
)  # fmt: skip
def test_a_refused_connection_may_be_retried_whatever_the_method(
    method: str, refused: bool, attempts: int, retried: bool
) -> None:
    """Refused: nothing was sent, so even a POST goes to another node; a reset connection
    may have carried it, so only an idempotent request does; never twice."""
    assert may_retry(method, refused=refused, attempts=attempts) is retried


async def test_a_post_to_a_node_that_refuses_is_retried_on_another(
    lone_lab: BalancerLab, echo_backend: str
) -> None:
    """A registered node whose port refuses (a node killed a moment ago): the POST sent to it
    is answered by the other node, traced as lb.retry and counted in retried_total."""
    lone_lab.set_algorithm("round_robin")
    port = free_port(HOST)
    dead = Registration(f"dead-{port}", "node", os.getpid(), HOST, port, now_ms())
    before = lone_lab.metrics()["extra"]["retried_total"]
    async with registered(lone_lab, dead):
        await async_wait_for(lambda: dead.id in lone_lab.backends(), "the dead node in the pool")
        with lone_lab.trace() as pubsub:
            async with aiohttp.ClientSession() as session:
                statuses = []
                for _ in range(4):
                    async with session.post(lone_lab.url + "/work", data=b"x=1") as response:
                        statuses.append((response.status, response.headers[NODE]))
            retry = pubsub_events(pubsub, lambda e: e["kind"] == "lb.retry")[-1]
    assert statuses == [(200, echo_backend)] * 4
    assert (retry["dst"], retry["detail"]["retry_on"]) == (dead.id, echo_backend)
    assert "refused" in retry["detail"]["error"].lower()
    await async_wait_for(
        lambda: lone_lab.metrics()["extra"]["retried_total"] - before, "the retry counted",
        until=lambda retried: retried == 1,
    )  # fmt: skip


async def test_a_post_whose_connection_is_reset_is_not_retried(
    lone_lab: BalancerLab, echo_backend: str, resetting_backend: str
) -> None:
    """The node read the POST, then reset: it may have acted on it, so the client is told
    (502), never sent twice."""
    lone_lab.set_algorithm("round_robin")
    async with aiohttp.ClientSession() as session:
        seen = []
        for _ in range(4):
            async with session.post(lone_lab.url + "/work", data=b"x=1") as response:
                seen.append((response.status, response.headers[NODE]))
    assert (200, echo_backend) in seen and (502, "none") in seen, seen


def test_no_healthy_node_is_a_503_with_retry_after(lone_lab: BalancerLab) -> None:
    """With no node to send it to, the balancer answers 503 itself and says when to retry."""
    wait_for(lambda: lone_lab.backends() == {} and lone_lab.metrics(), "an empty pool")
    with lone_lab.trace() as pubsub:
        status, headers, body = get(lone_lab.url + "/work?ms=0")
        reject = pubsub_events(pubsub, lambda e: e["kind"] == "lb.reject")[-1]
    assert status == 503 and json.loads(body) == {"error": "no healthy backend"}
    assert headers["Retry-After"] == "1" and headers[NODE] == "none"
    assert reject["ok"] is False and reject["detail"]["path"] == "/work"


async def test_a_dashboard_page_may_read_the_balancers_own_answers(lone_lab: BalancerLab) -> None:
    """The sessions page calls through the balancer with credentials: its own 503 names the
    page's exact origin and allows credentials; a stranger's page gets only `*`."""
    port = free_port(HOST)
    dashboard = Registration(f"dashboard-{port}", "dashboard", os.getpid(), HOST, port, now_ms())
    page = f"http://127.0.0.1:{port}"

    def readable() -> Any:
        _, headers, _ = get(lone_lab.url + "/cart/", {"Origin": page})
        return headers if headers.get("Access-Control-Allow-Origin") == page else None

    async with registered(lone_lab, dashboard):
        headers = await async_wait_for(readable, "the balancer's 503 naming the dashboard's origin")
    assert headers["Access-Control-Allow-Credentials"] == "true" and headers[NODE] == "none"
    status, stranger, _ = get(lone_lab.url + "/cart/", {"Origin": "http://elsewhere.example"})
    assert status == 503 and stranger["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in stranger


def test_nodes_that_refuse_connections_get_one_retry_then_are_ejected(
    lone_lab: BalancerLab,
) -> None:
    """Nodes refusing connections: one retry, then 502; both are ejected, so next comes 503."""
    dead = [
        Registration(f"dead-{n}", "node", os.getpid(), HOST, free_port(HOST), now_ms())
        for n in (1, 2)
    ]
    try:
        for registration in dead:
            register_as_supervised(lone_lab.redis, registration)
        wait_for(lambda: set(lone_lab.backends()) == {"dead-1", "dead-2"}, "both in the pool")
        with lone_lab.trace() as pubsub:
            status, headers, _ = get(lone_lab.url + "/work?ms=0")
            events = pubsub_events(pubsub, lambda e: e["kind"] == "lb.route")
        after, _, _ = get(lone_lab.url + "/work?ms=0")
    finally:
        for registration in dead:
            registry.deregister(lone_lab.redis, "node", registration.id)
    assert status == 502 and headers[NODE] == "none"
    kinds = Counter(e["kind"] for e in events)
    assert kinds["lb.retry"] == 1 and kinds["lb.health"] == 2
    assert events[-1]["ok"] is False and events[-1]["detail"]["outcome"] == "failed"
    assert after == 503


async def test_the_node_gets_forwarding_headers_and_no_hop_by_hop_ones(
    lone_lab: BalancerLab, echo_backend: str
) -> None:
    """X-Forwarded-For/Host/Proto reach the backend; Connection-scoped headers do not."""
    request = (
        b"GET /anything?x=1 HTTP/1.1\r\nHost: lb.example\r\n"
        b"X-Forwarded-For: 203.0.113.9\r\n"
        b"Connection: close, X-Secret\r\nX-Secret: for this hop only\r\n\r\n"
    )
    answer = await asyncio.to_thread(raw_exchange, lone_lab.lb_port, request)
    head, body = answer.split(b"\r\n\r\n", 1)
    seen = dict(json.loads(body)["headers"])
    assert status_of(head) == 200 and f"\r\n{NODE}: {echo_backend}\r\n".encode() in head
    assert seen["X-Forwarded-For"] == f"203.0.113.9, {HOST}"
    assert seen["X-Forwarded-Host"] == "lb.example"
    assert seen["X-Forwarded-Proto"] == "http"
    assert "X-Secret" not in seen and "Connection" not in seen


async def test_a_backend_slower_than_the_timeout_is_a_504(
    lone_lab: BalancerLab, echo_backend: str
) -> None:
    """A node that does not answer within the backend timeout (1 s here) costs the client a 504."""
    status, headers, body = await asyncio.to_thread(get, lone_lab.url + "/slow")
    assert status == 504 and headers[NODE] == "none"
    assert "did not answer within 1 s" in json.loads(body)["error"]


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    lone_lab: BalancerLab, echo_backend: str
) -> None:
    """A client that keeps its connection open and sends nothing more is cut off after the
    idle timeout (ARCHVIZ_LB_IDLE_TIMEOUT), and the balancer goes on serving."""
    reader, writer = await asyncio.open_connection(HOST, lone_lab.lb_port)
    try:
        for _ in range(2):  # kept alive: the second request rides the same connection
            writer.write(b"GET /anything HTTP/1.1\r\nHost: lb.example\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)))
            assert status_of(head) == 200
        answered = time.monotonic()
        # The deadline: the timeout plus room for a busy machine; EOF is the LB closing.
        leftover = await asyncio.wait_for(reader.read(), LONE_IDLE_TIMEOUT_S + 10)
        idle_s = time.monotonic() - answered
    finally:
        writer.close()
    assert leftover == b""
    assert idle_s >= LONE_IDLE_TIMEOUT_S * 0.9, f"closed after {idle_s:.2f} s, not idle long"
    status, headers, _ = await asyncio.to_thread(get, lone_lab.url + "/anything")
    assert status == 200 and headers[NODE] == echo_backend


def test_a_restarted_balancer_carries_on_with_the_stored_algorithm(lone_lab: BalancerLab) -> None:
    """The algorithm is kept in Redis, so a restarted balancer goes on with it."""
    lone_lab.set_algorithm("least_latency")
    lone_lab.stop_lb()
    assert lone_lab.lb.wait() == 0, lone_lab.lb.output()
    lone_lab.start_lb()
    lone_lab.wait_lb_ready()
    assert lone_lab.metrics()["extra"]["algorithm"] == "least_latency"


def test_a_stored_algorithm_nobody_knows_means_round_robin(
    lone_lab: BalancerLab, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown stored algorithm is not fatal: round robin, and a warning naming it."""
    lone_lab.redis.set(balancer_keys.ALGORITHM, "nonsense")
    try:
        assert stored_algorithm(lone_lab.redis) == "round_robin"
    finally:
        lone_lab.redis.delete(balancer_keys.ALGORITHM)
    assert "unknown stored algorithm 'nonsense'" in caplog.text
