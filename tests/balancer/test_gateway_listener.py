"""The balancer's second listener, over the gateway replicas (issue 11), as real processes: two
stand-in replicas (tests/balancer/stand_in_gateway.py) registered as kind "gateway", one
registered as a node, and the real `manage.py balancer` in front of them."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator

import aiohttp
import pytest

from archviz.balancer import keys as balancer_keys
from archviz.core import registry
from archviz.core.ports import free_port
from archviz.core.registry import Registration, now_ms
from archviz.gateway.management.commands.auctionbots import find_gateway
from archviz.lab.embedded_redis import EmbeddedRedis
from tests.balancer.conftest import HOST, NODE, BalancerLab, get, pubsub_events, registered
from tests.harness.processes import ROOT, command_env
from tests.harness.supervised import register_as_supervised
from tests.harness.wait_for import async_wait_for, wait_for

pytestmark = pytest.mark.integration

REPLICAS = ("gateway-1", "gateway-2")
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJsZWFybmVyIn0.c2lnbmF0dXJl"  # a JWT's shape


class StandIn:
    """One stand-in replica: its own process, registered as the supervisor's child."""

    def __init__(self, replica: str, kind: str) -> None:
        self.port = free_port(HOST)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.balancer.stand_in_gateway", "--id", replica,
             "--port", str(self.port), "--host", HOST],
            cwd=ROOT, env=command_env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self.registration = Registration(replica, kind, self.process.pid, HOST, self.port, now_ms())

    def listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.registration.id} exited with {self.process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.5):
            return True
        return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


class Heartbeats:
    """Keeps the stand-ins registered every 0.5 s, as their heartbeats would; a killed one
    stays registered (its key has not expired yet): the balancer must notice by itself."""

    def __init__(self, lab: BalancerLab, stand_ins: list[StandIn]) -> None:
        self.lab, self.stand_ins = lab, stand_ins
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.is_set():
            for stand_in in self.stand_ins:
                register_as_supervised(self.lab.redis, stand_in.registration)
            self._stop.wait(0.5)

    def __enter__(self) -> "Heartbeats":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture(scope="module")
def gateway_lab() -> Iterator[tuple[BalancerLab, dict[str, StandIn]]]:
    """The balancer in front of two stand-in gateway replicas and one stand-in node, on a
    Redis of its own (the trace channel is checked, and pub/sub ignores database numbers)."""
    server = EmbeddedRedis().start()
    lab = BalancerLab(server.url)
    stand_ins = {name: StandIn(name, "gateway") for name in REPLICAS}
    stand_ins["node-1"] = StandIn("node-1", "node")
    try:
        for stand_in in stand_ins.values():
            wait_for(stand_in.listening, f"{stand_in.registration.id} listening", 30)
        with Heartbeats(lab, list(stand_ins.values())):
            lab.start_lb()
            lab.wait_lb_ready()
            lab.wait_until_routable({"node-1"})
            wait_for(lambda: set(_gateway_backends(lab)) == set(REPLICAS), "both replicas", 30)
            yield lab, stand_ins
            lab.stop_lb()
    finally:
        for stand_in in stand_ins.values():
            stand_in.kill()
        lab.stop_all()
        server.stop()
    assert lab.lb.returncode == 0, lab.lb.output()


def _listener(lab: BalancerLab) -> dict:
    return lab.metrics().get("extra", {}).get("gateway_listener", {})


def _gateway_backends(lab: BalancerLab) -> dict[str, dict]:
    return {b["id"]: b for b in _listener(lab).get("backends", [])}


def _fresh_metrics(lab: BalancerLab) -> dict:
    """The balancer's first metrics snapshot taken after now."""
    asked_at = now_ms()
    return wait_for(lab.metrics, "a fresh snapshot", until=lambda m: m["ts"] > asked_at)


def _gateway_url(lab: BalancerLab, path: str = "/catalog/auctions") -> str:
    return f"http://{HOST}:{lab.gateway_port}{path}"


def _served(url: str) -> tuple[str, str]:
    """Which backend the balancer says answered, and which one says it did."""
    status, headers, body = get(url)
    assert status == 200, (status, body)
    return headers[NODE], json.loads(body)["replica"]


def test_the_gateway_listener_spreads_requests_over_the_replicas(gateway_lab) -> None:
    """Round robin over the two registered replicas: five requests each out of ten."""
    lab, _ = gateway_lab
    served = [_served(_gateway_url(lab)) for _ in range(10)]
    assert all(said == answered for said, answered in served), served
    assert Counter(said for said, _ in served) == {"gateway-1": 5, "gateway-2": 5}


def test_a_preflights_204_and_the_post_after_it_share_one_clean_connection(gateway_lab) -> None:
    """A browser sends its POST on the connection its preflight used: the replica's 204 is
    relayed without a body (a stray last chunk after it made Chromium's POST fail with
    ERR_INVALID_HTTP_RESPONSE)."""
    lab, _ = gateway_lab
    with socket.create_connection((HOST, lab.gateway_port), timeout=5) as conn:
        conn.sendall(b"OPTIONS /auth/token HTTP/1.1\r\nHost: a\r\n\r\n")
        reader = conn.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 204")
        head = _read_head(reader)
        assert "content-length" not in head and "transfer-encoding" not in head, head
        conn.sendall(b"POST /auth/token HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}")
        status = reader.readline()
        assert status.startswith(b"HTTP/1.1 200"), status
        body = reader.read(int(_read_head(reader)["content-length"]))
        assert json.loads(body)["method"] == "POST"


def _read_head(reader) -> dict[str, str]:
    """The header lines of an answer whose status line was read, lower-cased."""
    head = {}
    while (line := reader.readline().decode()) not in ("\r\n", ""):
        name, _, value = line.partition(":")
        head[name.strip().lower()] = value.strip()
    return head


def test_the_nodes_listener_is_unaffected(gateway_lab) -> None:
    """The first listener still routes to the nodes alone, and counts only its own."""
    lab, _ = gateway_lab
    before = _fresh_metrics(lab)["extra"]
    for _ in range(3):
        _served(_gateway_url(lab))
    assert {_served(lab.url + "/work")[0] for _ in range(4)} == {"node-1"}
    extra = _fresh_metrics(lab)["extra"]
    assert {b["id"] for b in extra["backends"]} == {"node-1"}
    assert extra["requests_total"] - before["requests_total"] == 4
    assert (
        extra["gateway_listener"]["requests_total"] - before["gateway_listener"]["requests_total"]
        == 3
    )


def test_the_metrics_publish_the_gateway_listeners_port_and_counters(gateway_lab) -> None:
    """extra["gateway_listener"]: the port it bound, its algorithm, its counters, its pool."""
    lab, _ = gateway_lab
    before = _listener(lab)["requests_total"]
    for _ in range(4):
        _served(_gateway_url(lab))
    listener = wait_for(
        lambda: _listener(lab), "the four requests counted", until=lambda m: (
            m["requests_total"] - before == 4
        ),
    )  # fmt: skip
    assert listener["port"] == lab.gateway_port
    assert listener["algorithm"] == "round_robin"
    assert listener["no_backend_total"] == 0
    assert listener["max_connections"] == lab.metrics()["extra"]["max_connections"]
    assert {b["id"]: b["health"] for b in listener["backends"]} == {
        "gateway-1": "healthy",
        "gateway-2": "healthy",
    }


def test_the_bidding_bots_find_the_listener_where_the_metrics_publish_it(gateway_lab) -> None:
    """auctionbots reads the port the balancer publishes: one contract, both sides."""
    lab, _ = gateway_lab
    registry.vouch(lab.redis, "lb", "balancer", lab.lb.pid, lab.lb_port)
    assert find_gateway(lab.redis) == f"http://{HOST}:{lab.gateway_port}"


def test_gateway_requests_are_traced_with_demo_gateway(gateway_lab) -> None:
    """An lb.route event with demo "gateway" and the replica as dst; the nodes' stay "lb"."""
    lab, _ = gateway_lab
    with lab.trace() as pubsub:
        _served(_gateway_url(lab, "/catalog/auctions/lamp"))
        seen = pubsub_events(pubsub, lambda e: e["kind"] == "lb.route")
    route = seen[-1]
    assert (route["src"], route["demo"]) == ("lb", "gateway")
    assert route["dst"] in REPLICAS
    assert route["detail"]["path"] == "/catalog/auctions/lamp"
    with lab.trace() as pubsub:
        _served(lab.url + "/work")
        route = pubsub_events(pubsub, lambda e: e["kind"] == "lb.route")[-1]
    assert (route["demo"], route["dst"]) == ("lb", "node-1")


@pytest.mark.parametrize("listener", ["nodes", "gateway"])
def test_both_listeners_pass_the_lab_client_and_the_trace_through(gateway_lab, listener) -> None:
    """X-Archviz-Lab-Client and X-Archviz-Trace reach the backend unchanged, and the
    balancer's lb.route event carries the page's trace id: one flow, tab -> LB -> backend."""
    lab, _ = gateway_lab
    url = lab.url + "/work" if listener == "nodes" else _gateway_url(lab)
    sent = {"X-Archviz-Lab-Client": "proof-1234", "X-Archviz-Trace": f"page-flow-{listener}"}
    with lab.trace() as pubsub:
        status, _, body = get(url, sent)
        route = pubsub_events(
            pubsub, lambda e: e["kind"] == "lb.route" and e["trace"] == sent["X-Archviz-Trace"]
        )[-1]
    assert status == 200
    received = json.loads(body)["headers"]
    assert {name: received.get(name) for name in sent} == sent
    assert received["X-Forwarded-For"] == HOST
    assert route["dst"] == json.loads(body)["replica"]


def test_the_gateway_listener_grants_no_page_the_replica_did_not(gateway_lab) -> None:
    """A stranger's page reading through 8200 gets no "*" from the balancer (the gateway
    answers CORS itself); through the nodes' listener reads stay open to any page."""
    lab, _ = gateway_lab
    stranger = {"Origin": "http://127.0.0.1:8888"}
    _, headers, _ = get(_gateway_url(lab), stranger)
    assert headers.get("Access-Control-Allow-Origin") is None
    _, headers, _ = get(lab.url + "/work", stranger)
    assert headers.get("Access-Control-Allow-Origin") == "*"


async def test_a_websocket_keeps_its_bearer_subprotocol_through_the_listener(
    gateway_lab,
) -> None:
    """`bearer, <token>` reaches the replica whole, and its choice, bearer, comes back."""
    lab, _ = gateway_lab
    url = f"ws://{HOST}:{lab.gateway_port}/ws/auctions/lamp/"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, protocols=("bearer", TOKEN)) as ws,
    ):
        assert ws.protocol == "bearer"
        hello = await ws.receive_json(timeout=5)
        assert hello["offered"] == ["bearer", TOKEN]
        assert hello["auction"] == "lamp" and hello["replica"] in REPLICAS
        await ws.send_str("bid 12.50")
        assert await ws.receive_str(timeout=5) == "bid 12.50"
        await async_wait_for(
            lambda: _gateway_backends(lab)[hello["replica"]]["websockets"] == 1,
            "the socket counted on its replica",
        )


async def test_a_websocket_that_offers_no_subprotocol_is_given_none(gateway_lab) -> None:
    """No subprotocol offered: the replica picks none, and the balancer echoes none."""
    lab, _ = gateway_lab
    url = f"ws://{HOST}:{lab.gateway_port}/ws/auctions/lamp/"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        assert ws.protocol is None
        assert (await ws.receive_json(timeout=5))["offered"] == []


async def test_the_balancer_declines_the_deflate_a_browser_offers(gateway_lab) -> None:
    """Every browser offers permessage-deflate; the balancer relays frames as the node sent
    them, uncompressed (deflating every frame to every tab cost it a classroom)."""
    lab, _ = gateway_lab
    url = f"ws://{HOST}:{lab.gateway_port}/ws/auctions/lamp/"
    async with aiohttp.ClientSession() as session, session.ws_connect(url, compress=15) as ws:
        assert ws.compress == 0, "permessage-deflate was accepted"
        assert (await ws.receive_json(timeout=5))["auction"] == "lamp"
        await ws.send_str("still relayed")
        assert (await ws.receive(timeout=5)).data == "still relayed"


async def test_no_token_reaches_the_balancers_log(gateway_lab) -> None:
    """The balancer passes a socket's handshake on as it came and logs nothing of it, with
    `bearer, <token>` or the token alone. A malformed request last, as a marker: once its
    refusal is logged, everything the balancer logged before it is in its output too."""
    lab, _ = gateway_lab
    url = f"ws://{HOST}:{lab.gateway_port}/ws/auctions/lamp/"
    async with aiohttp.ClientSession() as session:
        for offered in (("bearer", TOKEN), (TOKEN,)):
            async with session.ws_connect(url, protocols=offered) as ws:
                await ws.receive_json(timeout=5)
    with socket.create_connection((HOST, lab.gateway_port), timeout=5) as marker:
        marker.sendall(b"NOT HTTP\r\n\r\n")
        assert marker.recv(4096).startswith(b"HTTP/1.1 400 ")
    lab.lb.wait_for_line(r"answered 400", 10)
    assert TOKEN not in lab.lb.output()


def test_the_gateway_listeners_algorithm_switches_alone(gateway_lab) -> None:
    """lb.algorithm with listener "gateway" switches that listener and keeps it in Redis;
    the nodes' algorithm stays as it was."""
    lab, _ = gateway_lab
    command = {"type": "lb.algorithm", "algorithm": "least_connections", "listener": "gateway",
               "by": "test", "trace": ""}  # fmt: skip
    with lab.trace() as pubsub:
        lab.redis.publish("archviz:control", json.dumps(command))
        switched = pubsub_events(pubsub, lambda e: e["kind"] == "lb.algorithm")[-1]
    assert switched["demo"] == "gateway"
    assert switched["detail"] | {"by": "test"} == {
        "from": "round_robin", "to": "least_connections", "by": "test", "listener": "gateway",
    }  # fmt: skip
    wait_for(
        lambda: _listener(lab)["algorithm"], "the listener's new algorithm",
        until=lambda name: name == "least_connections",
    )  # fmt: skip
    assert lab.metrics()["extra"]["algorithm"] == "round_robin"
    assert lab.redis.get(balancer_keys.GATEWAY_ALGORITHM) == b"least_connections"
    assert lab.redis.get(balancer_keys.ALGORITHM) is None
    with lab.trace() as pubsub:
        lab.redis.publish("archviz:control", json.dumps(command | {"algorithm": "round_robin"}))
        pubsub_events(pubsub, lambda e: e["kind"] == "lb.algorithm")


async def test_a_post_to_a_replica_that_refuses_is_retried_on_another(gateway_lab) -> None:
    """A registered replica whose port refuses (killed a moment ago): POSTs through the
    gateway listener are all answered by the live replicas, the retry traced and counted."""
    lab, _ = gateway_lab
    port = free_port(HOST)
    dead = Registration("gateway-9", "gateway", os.getpid(), HOST, port, now_ms())
    before = _listener(lab)["retried_total"]
    async with registered(lab, dead):
        await async_wait_for(lambda: dead.id in _gateway_backends(lab), "gateway-9 in the pool")
        with lab.trace() as pubsub:
            async with aiohttp.ClientSession() as session:
                answered = []
                for _ in range(6):
                    url = _gateway_url(lab, "/auctions/lamp/bids")
                    async with session.post(url, json={"amount": 12.5}) as response:
                        answered.append((response.status, (await response.json())["method"]))
            retry = pubsub_events(pubsub, lambda e: e["kind"] == "lb.retry")[-1]
    assert answered == [(200, "POST")] * 6
    assert (retry["dst"], retry["demo"]) == ("gateway-9", "gateway")
    assert retry["detail"]["retry_on"] in REPLICAS
    await async_wait_for(
        lambda: _listener(lab)["retried_total"] - before, "the retry counted",
        until=lambda retried: retried == 1,
    )  # fmt: skip


def test_a_killed_replica_is_skipped_while_it_is_still_registered(gateway_lab) -> None:
    """SIGKILL one replica: every request still gets an answer, from the other one, and the
    dead one leaves rotation (its registration, still fresh, does not matter)."""
    lab, stand_ins = gateway_lab
    stand_ins["gateway-2"].kill()
    served = [_served(_gateway_url(lab))[0] for _ in range(8)]
    assert set(served) == {"gateway-1"}, served
    health = wait_for(
        lambda: _gateway_backends(lab).get("gateway-2", {}).get("health"),
        "gateway-2 out of rotation",
        until=lambda state: state in ("ejected", "unhealthy"),
    )
    assert health in ("ejected", "unhealthy")
    assert _served(lab.url + "/work")[0] == "node-1"
    assert stand_ins["gateway-2"].process.returncode == -signal.SIGKILL
