"""Fixtures for the load balancer: real node and balancer processes on a real Redis."""

import asyncio
import contextlib
import json
import os
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
from aiohttp import web

from archviz.core import keys, registry
from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.core.registry import Registration, now_ms
from archviz.lab.embedded_redis import EmbeddedRedis
from tests.harness.processes import ManagePy, command_env, stop_all
from tests.harness.supervised import register_as_supervised
from tests.harness.wait_for import async_wait_for, wait_for

HOST = "127.0.0.1"
NODE = "X-Archviz-Node"
START_TIMEOUT_S = 30
LONE_IDLE_TIMEOUT_S = 1  # the lone balancer's ARCHVIZ_LB_IDLE_TIMEOUT, short for its test


class BalancerLab:
    """Nodes and one balancer sharing one Redis database, each a real process."""

    def __init__(self, redis_url: str, *, lb_args: tuple[str, ...] = ()) -> None:
        self.redis_url = redis_url
        self.redis = sync_client(redis_url)
        self.lb_args = lb_args
        self.env = command_env(REDIS_URL=redis_url)
        self.nodes: dict[str, ManagePy] = {}
        self.lb: ManagePy | None = None
        self.lb_port = 0
        self.gateway_port = 0  # the balancer's second listener, over the gateway replicas

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.lb_port}"

    # --- processes -------------------------------------------------------------------

    def start_node(self, node_id: str, **config: int) -> ManagePy:
        """Configure a node in Redis, then start its process (it reads the config itself).
        Its overload guards are off (thresholds 100 %) unless the test sets them: the
        balancer's tests are not about a busy machine's loop lag."""
        defaults = {"weight": 1, "capacity": 10, "latency_ms": 0, "jitter_ms": 0}
        defaults |= {"reject_above": 100, "shed_above": 100}
        self.redis.hset(keys.node_config(node_id), mapping=defaults | config)
        port = str(free_port(HOST))
        args = ["node", "--id", node_id, "--port", port, "--host", HOST]
        self.nodes[node_id] = ManagePy(*args, env=self.env, name=node_id)
        registry.vouch(self.redis, node_id, "node", self.nodes[node_id].pid, int(port))
        return self.nodes[node_id]

    def start_lb(self) -> ManagePy:
        self.lb_port, self.gateway_port = free_port(HOST), free_port(HOST)
        args = ["balancer", "--id", "lb", "--port", str(self.lb_port), "--host", HOST,
                "--gateway-port", str(self.gateway_port)]  # fmt: skip
        self.lb = ManagePy(*args, *self.lb_args, env=self.env, name="lb")
        return self.lb

    def wait_lb_ready(self) -> None:
        """The balancer is registered, publishing metrics, and listening for commands."""
        self.wait_registered("balancer", {"lb"})
        wait_for(self.metrics, "the balancer's first metrics", START_TIMEOUT_S)
        wait_for(
            lambda: self.redis.pubsub_numsub(keys.CONTROL_CHANNEL)[0][1] >= 1,
            "the balancer listening for commands",
            START_TIMEOUT_S,
        )

    def registered(self, kind: str) -> set[str]:
        return {r.id for r in registry.registered(self.redis, kind)}

    def wait_registered(self, kind: str, ids: set[str]) -> None:
        def ready() -> bool:
            for process in [*self.nodes.values(), self.lb]:
                if process is not None and process.name in ids:
                    process.check_running()
            return ids <= self.registered(kind)

        wait_for(ready, f"{kind} {sorted(ids)} registered", START_TIMEOUT_S)

    def stop_lb(self) -> None:
        """SIGTERM the balancer; it must leave the registry within 2 s."""
        self.lb.terminate()
        wait_for(lambda: "lb" not in self.registered("balancer"), "the balancer to deregister", 2)

    def stop_all(self) -> None:
        """SIGTERM everything still running; SIGKILL what takes longer than 10 s (a busy
        machine can slow daphne's shutdown, and the nodes are not what is tested here)."""
        stop_all([self.lb, *self.nodes.values()])

    # --- the balancer's view ----------------------------------------------------------

    def metrics(self) -> dict:
        raw = self.redis.get(keys.metrics("lb"))
        return json.loads(raw) if raw else {}

    def backends(self) -> dict[str, dict]:
        return {b["id"]: b for b in self.metrics().get("extra", {}).get("backends", [])}

    def wait_until_routable(self, ids: set[str], timeout: float = START_TIMEOUT_S) -> None:
        """The balancer knows exactly these nodes, each taking traffic."""

        def routable() -> bool:
            backends = self.backends()
            return set(backends) == ids and all(
                b["health"] in ("unknown", "healthy") for b in backends.values()
            )

        wait_for(routable, f"the balancer routing to {sorted(ids)}", timeout)

    def node_metrics(self, node_id: str) -> dict:
        raw = self.redis.get(keys.metrics(node_id))
        return json.loads(raw) if raw else {}

    @contextlib.contextmanager
    def trace(self) -> Iterator[redis.client.PubSub]:
        """A subscription to the trace channel, open before anything is sent."""
        pubsub = self.redis.pubsub()
        pubsub.subscribe(keys.TRACE_CHANNEL)
        pubsub.get_message(timeout=1)  # the subscribe confirmation: we are listening now
        try:
            yield pubsub
        finally:
            pubsub.close()

    def send_algorithm(self, name: str, by: str = "test") -> None:
        command = {"type": "lb.algorithm", "algorithm": name, "by": by, "trace": ""}
        self.redis.publish(keys.CONTROL_CHANNEL, json.dumps(command))

    def set_algorithm(self, name: str) -> None:
        """Switch the algorithm as the dashboard does; return once the balancer confirms."""
        with self.trace() as pubsub:
            self.send_algorithm(name)
            pubsub_events(
                pubsub, lambda e: e["kind"] == "lb.algorithm" and e["detail"]["to"] == name
            )


@pytest.fixture(scope="module")
def balancer_lab(redis_server: EmbeddedRedis) -> Iterator[BalancerLab]:
    """Three nodes (weights 3, 1, 1) behind one balancer, on the session Redis, emptied."""
    lab = BalancerLab(redis_server.url)
    lab.redis.flushdb()
    try:
        for number, weight in ((1, 3), (2, 1), (3, 1)):
            lab.start_node(f"node-{number}", weight=weight)
        lab.start_lb()  # at the same time: it finds the nodes in the registry as they come
        lab.wait_registered("node", {"node-1", "node-2", "node-3"})
        lab.wait_lb_ready()
        lab.wait_until_routable({"node-1", "node-2", "node-3"})
        yield lab
        lab.stop_lb()
    finally:
        lab.stop_all()
    assert lab.lb.returncode == 0, lab.lb.output()


@pytest.fixture(scope="module")
def lone_lab() -> Iterator[BalancerLab]:
    """A balancer with no nodes at all, whose backends time out after 1 s and idle clients
    after LONE_IDLE_TIMEOUT_S, on a Redis of its own (pub/sub ignores database numbers, so a
    shared server would mix the two labs)."""
    server = EmbeddedRedis().start()
    lab = BalancerLab(server.url, lb_args=("--backend-timeout", "1"))
    lab.env["ARCHVIZ_LB_IDLE_TIMEOUT"] = str(LONE_IDLE_TIMEOUT_S)
    try:
        lab.start_lb()
        lab.wait_lb_ready()
        yield lab
        lab.stop_lb()
    finally:
        lab.stop_all()
        server.stop()
    assert lab.lb.returncode == 0, lab.lb.output()


def pubsub_events(pubsub: redis.client.PubSub, until: Callable[[dict], bool], timeout: float = 5):
    """Trace events from a subscription, up to and including the first that `until` accepts."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is None:
            continue
        for event in json.loads(message["data"]):
            seen.append(event)
            if until(event):
                return seen
    kinds = sorted({e["kind"] for e in seen})
    raise AssertionError(f"no matching trace event within {timeout} s; saw kinds {kinds}")


# --- talking to the balancer ----------------------------------------------------------


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    """One GET on a fresh connection: status, headers and body, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def served_by(url: str, headers: dict[str, str] | None = None) -> str:
    status, response_headers, _ = get(url, headers)
    assert status == 200, status
    return response_headers[NODE]


def sticky(cookie: str) -> dict[str, str]:
    return {"Cookie": f"archviz_sticky={cookie}"}


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes over a raw socket; what came back before the server closed."""
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP response."""
    return int(response.split(b" ", 2)[1])


# --- a backend that shows what it received -------------------------------------------


async def _echo(request: web.Request) -> web.Response:
    if request.path == "/slow":
        await asyncio.sleep(3)
    return web.json_response({"headers": list(request.headers.items())})


async def _keep_registered(lab: BalancerLab, registration: Registration) -> None:
    while True:
        register_as_supervised(lab.redis, registration)
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def registered(lab: BalancerLab, registration: Registration) -> AsyncIterator[None]:
    """Keep `registration` in the lab's registry, as its heartbeat would, inside the block."""
    refreshing = asyncio.create_task(_keep_registered(lab, registration))
    try:
        yield
    finally:
        refreshing.cancel()
        registry.deregister(lab.redis, registration.kind, registration.id)


@pytest.fixture
async def echo_backend(lone_lab: BalancerLab) -> AsyncIterator[str]:
    """A small server that echoes request headers, registered as the lone balancer's node
    (the real nodes do not echo headers)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port(HOST)
    await web.TCPSite(runner, HOST, port).start()
    # A new id each time: the balancer's last metrics may still show the previous one.
    echo = Registration(f"echo-{port}", "node", os.getpid(), HOST, port, now_ms())
    try:
        async with registered(lone_lab, echo):
            await async_wait_for(
                lambda: echo.id in lone_lab.backends(), "the echo backend in the pool"
            )
            yield echo.id
    finally:
        await runner.cleanup()


async def _reset_after_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read a request, then reset the connection (RST), as a SIGKILLed node's kernel does to
    a keep-alive connection the balancer still holds."""
    with contextlib.suppress(ConnectionError):
        await reader.readuntil(b"\r\n\r\n")
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.fixture
async def resetting_backend(lone_lab: BalancerLab) -> AsyncIterator[str]:
    """A node that accepts connections and resets each after the request, registered as the
    lone balancer's node (health checks fail after their threshold, so use it at once)."""
    server = await asyncio.start_server(_reset_after_request, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    resetting = Registration(f"reset-{port}", "node", os.getpid(), HOST, port, now_ms())
    try:
        async with registered(lone_lab, resetting):
            await async_wait_for(lambda: resetting.id in lone_lab.backends(), "the resetting node")
            yield resetting.id
    finally:
        server.close()
