"""The traffic generator against real node processes and the session's real Redis."""

import json
import random
import time
from collections.abc import Callable, Iterator

import pytest

from archviz.core import keys, registry
from archviz.core.control import InvalidCommand
from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.core.registry import Metrics, Registration, lookup, now_ms, registered
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.traffic import keys as traffic_keys
from archviz.traffic.generator import (
    BEHIND,
    SATURATED,
    Target,
    TrafficGenerator,
    TrafficSettings,
    classify,
    connect_address,
)
from tests.harness.processes import ManagePy, command_env, stop_all
from tests.harness.wait_for import async_wait_for, wait_for

NODES = ("node-1", "node-2")
integration = pytest.mark.integration


class TrafficLab:
    """Two real nodes and a real `manage.py traffic`, all on the session Redis."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.redis = sync_client(redis_url)
        self.env = command_env(REDIS_URL=redis_url)
        self.nodes: dict[str, ManagePy] = {}
        self.ports: dict[str, int] = {}
        self.traffic: ManagePy | None = None

    def start_node(self, node_id: str) -> None:
        """A node with its overload guards off (thresholds 100 %): the generator's tests are
        not about a busy machine's loop lag."""
        guards_off = {"reject_above": 100, "shed_above": 100}
        self.redis.hset(keys.node_config(node_id), mapping=guards_off)
        self.ports.setdefault(node_id, free_port("127.0.0.1"))
        port = str(self.ports[node_id])
        self.nodes[node_id] = ManagePy(
            "node", "--id", node_id, "--port", port, env=self.env, name=node_id
        )
        registry.vouch(self.redis, node_id, "node", self.nodes[node_id].pid, self.ports[node_id])

    def start_traffic(self) -> None:
        self.traffic = ManagePy("traffic", env=self.env)

    def stop_all(self) -> None:
        """The generator first, so that the nodes are not kept waiting by its WebSockets."""
        stop_all([self.traffic])
        stop_all(self.nodes.values())

    # --- watching --------------------------------------------------------------

    def wait(self, condition: Callable[[], object], what: str, timeout: float = 15) -> object:
        """Poll until condition() is truthy; fail naming what never happened."""
        return wait_for(condition, what, timeout, explain=self._explain, interval=0.1)

    def wait_for_view(
        self, condition: Callable[[dict], bool], what: str, timeout: float = 15
    ) -> dict:
        return wait_for(
            self.view,
            what,
            timeout,
            explain=self._explain,
            interval=0.1,
            until=lambda view: view is not None and condition(view),
        )

    def _explain(self) -> str:
        return f"last view: {self.view()}\ntraffic log:\n{self.log_tail()}"

    def view(self) -> dict | None:
        raw = self.redis.get(traffic_keys.VIEW)
        return json.loads(raw) if raw else None

    def metrics(self, component_id: str) -> Metrics | None:
        raw = self.redis.get(keys.metrics(component_id))
        return Metrics.from_json(raw) if raw else None

    def node_websockets(self) -> int:
        return sum((m.extra["websockets"] if (m := self.metrics(n)) else 0) for n in NODES)

    def wait_for_fresh_snapshot(self) -> None:
        """Two heartbeats from now: the later one was made knowing today's registry."""
        for _ in range(2):
            seen = now_ms()
            self.wait(
                lambda seen=seen: (m := self.metrics("traffic")) is not None and m.ts > seen,
                "a fresh heartbeat from the traffic generator",
            )

    def listening(self) -> bool:
        """The traffic process is registered and subscribed to the control channel."""
        [(_, subscribers)] = self.redis.pubsub_numsub(keys.CONTROL_CHANNEL)
        return subscribers >= 1 and lookup(self.redis, "traffic", "traffic") is not None

    def log_tail(self, lines: int = 20) -> str:
        return self.traffic.output(last=lines) if self.traffic is not None else ""

    # --- driving ---------------------------------------------------------------

    def set_traffic(self, **fields: float) -> dict:
        """Publish a traffic.set command (defaults: idle); returns the settings sent."""
        settings = {"rate": 0, "work_ms": 5, "variance_ms": 0, "ws_clients": 0} | fields
        self.publish({"type": "traffic.set", "by": "tests", "trace": "", **settings})
        return settings

    def publish(self, command: object) -> None:
        raw = command if isinstance(command, bytes) else json.dumps(command)
        assert self.redis.publish(keys.CONTROL_CHANNEL, raw) >= 1, "nobody listening"


@pytest.fixture(scope="module")
def lab(redis_server: EmbeddedRedis) -> Iterator[TrafficLab]:
    """Two nodes and the traffic generator, registered on a freshly flushed Redis."""
    lab = TrafficLab(redis_server.url)
    lab.redis.flushdb()
    try:
        for node_id in NODES:
            lab.start_node(node_id)
        lab.start_traffic()
        lab.wait(
            lambda: [r.id for r in registered(lab.redis, "node")] == list(NODES),
            "both nodes registered",
            timeout=30,
        )
        lab.wait(lab.listening, "the traffic generator registered and listening", timeout=30)
        lab.wait_for_fresh_snapshot()  # it now sends to both nodes, not to nothing
        yield lab
    finally:
        lab.stop_all()


@pytest.fixture
def idle(lab: TrafficLab) -> Iterator[TrafficLab]:
    """The lab, left idle afterwards whatever the test did."""
    yield lab
    if lab.traffic is not None and lab.traffic.alive():
        lab.set_traffic()


# --- pure helpers of the generator module -------------------------------------------


def test_classify_reads_status_and_queued_flag() -> None:
    """200 is ok, or queued when the node says so; 503 rejected; anything else failed."""
    assert classify(200, b'{"node": "node-1", "queued": false}') == ("ok", "")
    assert classify(200, b'{"node": "node-1", "queued": true}') == ("queued", "")
    assert classify(503, b'{"error": "over capacity"}') == ("rejected", "")
    assert classify(502, b"") == ("failed", "HTTP 502")
    assert classify(400, b"{}") == ("failed", "HTTP 400")
    assert classify(200, b"<html>") == ("failed", "unreadable answer")
    assert classify(200, b"[1]") == ("failed", "unreadable answer")


def test_settings_are_validated_like_the_control_command() -> None:
    """Stored or commanded settings outside the control limits are refused."""
    stored = TrafficSettings(rate=12.5, work_ms=7, variance_ms=2, ws_clients=3)
    assert TrafficSettings.from_mapping(json.loads(stored.to_json())) == stored
    with pytest.raises(InvalidCommand):
        TrafficSettings.from_mapping({"rate": 10_000, "work_ms": 1, "variance_ms": 0})
    with pytest.raises(InvalidCommand):
        TrafficSettings.from_mapping(["not", "an", "object"])


def test_wildcard_bind_addresses_connect_to_this_machine() -> None:
    def registration(host: str) -> Registration:
        return Registration("node-1", "node", 1, host, 8101, 0.0)

    assert connect_address(registration("127.0.0.1")) == "127.0.0.1:8101"
    assert connect_address(registration("0.0.0.0")) == "127.0.0.1:8101"
    assert connect_address(registration("::")) == "[::1]:8101"


# --- the generator with real processes -----------------------------------------------


@integration
def test_rate_50_spreads_poisson_traffic_over_both_nodes(idle: TrafficLab) -> None:
    """50/s of 5 ms work: about 250 sent per 5 s window, answered by both nodes."""
    sent = idle.set_traffic(rate=50, work_ms=5, variance_ms=1)
    started = time.monotonic()
    view = idle.wait_for_view(
        lambda v: v["rate"] == 50 and time.monotonic() > started + v["window_s"] + 0.5,
        "a whole window at 50/s",
    )
    assert 50 * 5 * 0.7 <= view["sent"] <= 50 * 5 * 1.3, json.dumps(view)
    assert view["ok"] > 0 and set(view["per_node"]) == set(NODES), json.dumps(view)
    assert view["failed"] == 0, json.dumps(view)
    assert view["target"] == "nodes" and view["up"] is True
    assert 0 < view["latency_ms"]["p50"] <= view["latency_ms"]["p95"] <= view["latency_ms"]["p99"]
    assert json.loads(idle.redis.get(traffic_keys.SETTINGS)) == sent | {"queue": "off"}
    extra = idle.metrics("traffic").extra
    assert (extra["target"], extra["rate"], extra["up"]) == ("nodes", 50, True)


@integration
def test_rate_0_stops_sending(idle: TrafficLab) -> None:
    """After rate 0, the window empties: nothing is sent any more."""
    idle.set_traffic(rate=50)
    idle.wait_for_view(lambda v: v["sent"] > 0, "traffic flowing")
    idle.set_traffic(rate=0)
    view = idle.wait_for_view(
        lambda v: v["rate"] == 0 and v["sent"] == 0, "the window to empty", timeout=12
    )
    assert view["in_flight"] == 0


@integration
def test_ws_clients_are_held_on_the_nodes_and_the_pool_shrinks(idle: TrafficLab) -> None:
    """4 WebSocket clients open 4 sockets across the nodes; 1 closes the other 3."""
    idle.set_traffic(ws_clients=4)
    view = idle.wait_for_view(lambda v: v["ws_open"] == 4, "4 WebSockets open")
    assert view["ws_nodes"] == {"node-1": 2, "node-2": 2}  # taken in rotation
    idle.wait(lambda: idle.node_websockets() == 4, "the nodes to count 4 WebSockets")
    idle.set_traffic(ws_clients=1)
    idle.wait_for_view(lambda v: v["ws_open"] == 1, "the pool to shrink to 1")
    idle.wait(lambda: idle.node_websockets() == 1, "the nodes to count 1 WebSocket")


@integration
def test_a_node_at_capacity_1_rejects_under_load(idle: TrafficLab) -> None:
    """node-1 with capacity 1 under 100/s of 200 ms work answers 503s, counted as rejected."""
    config = keys.node_config("node-1")
    idle.redis.hset(config, "capacity", 1)
    try:
        idle.wait(
            lambda: idle.metrics("node-1").extra["capacity"] == 1, "node-1 to read capacity 1"
        )
        idle.set_traffic(rate=100, work_ms=200)
        view = idle.wait_for_view(lambda v: v["rejected"] > 0, "rejections")
        assert "node-1" in view["per_node"]
        idle.wait(lambda: idle.metrics("node-1").extra["rejected_total"] > 0, "node-1 refusing")
    finally:
        idle.set_traffic()
        idle.redis.hset(config, "capacity", 10)


@integration
def test_malformed_commands_leave_the_generator_running(idle: TrafficLab) -> None:
    """Garbage, wrong types and other components' commands are ignored; snapshots go on."""
    before = idle.metrics("traffic").ts
    for bad in (
        b"\xff not json",
        [1, 2],
        {"type": "traffic.set", "rate": "fast", "work_ms": 5, "variance_ms": 0, "ws_clients": 0},
        {"type": "traffic.set", "rate": 9_999, "work_ms": 5, "variance_ms": 0, "ws_clients": 0},
        {"type": "traffic.set", "rate": 1},
        {"type": "node.kill", "node": "node-1", "by": "", "trace": ""},
        {"type": "lb.algorithm", "algorithm": "round_robin", "by": "", "trace": ""},
    ):
        idle.publish(bad)
    idle.set_traffic(work_ms=7)
    view = idle.wait_for_view(lambda v: v["work_ms"] == 7, "the valid command after the bad ones")
    assert view["rate"] == 0
    idle.wait(lambda: idle.metrics("traffic").ts > before + 1000, "fresh snapshots")
    assert idle.traffic.alive()
    assert "ignored a malformed control command" in idle.log_tail()


@integration
async def test_arrivals_beyond_max_in_flight_fail_as_saturated(lab: TrafficLab) -> None:
    """With at most 5 in flight, 200/s of 1 s work fails the excess at once, not later."""
    generator = TrafficGenerator(
        TrafficSettings(rate=200, work_ms=1_000), rng=random.Random(1), max_in_flight=5
    )
    generator.target = Target("nodes", (f"127.0.0.1:{lab.ports['node-1']}",))
    await generator.start()
    in_flight: list[int] = []

    def saturated() -> dict:
        view = generator.snapshot()
        in_flight.append(view["in_flight"])
        return view

    try:
        view = await async_wait_for(
            saturated,
            "20 arrivals failed as saturated",
            until=lambda v: v["failures"].get(SATURATED, 0) >= 20,
        )
    finally:
        await generator.close()
    assert view["failed"] == view["failures"][SATURATED]  # nothing else went wrong
    assert max(in_flight) <= 5


@integration
async def test_a_starved_loop_reports_the_arrivals_it_missed(lab: TrafficLab) -> None:
    """The loop blocked for 2 s at 100/s: beyond the 1 s catch-up, ~100 arrivals are missed."""
    generator = TrafficGenerator(TrafficSettings(rate=100, work_ms=1), rng=random.Random(2))
    generator.target = Target("nodes", (f"127.0.0.1:{lab.ports['node-1']}",))
    await generator.start()
    started = time.monotonic()
    try:
        await async_wait_for(lambda: generator.snapshot()["sent"] > 0, "the first arrivals sent")
        time.sleep(2)  # the event loop gets no CPU, as on an overloaded machine
        # every arrival is accounted for: sent (the last second caught up) or reported missed
        view = await async_wait_for(
            generator.snapshot,
            "every arrival sent or reported missed",
            5,
            until=lambda v: v["sent"] >= 0.8 * 100 * (time.monotonic() - started),
        )
    finally:
        await generator.close()
    elapsed = time.monotonic() - started
    # at least the second beyond the catch-up; at most everything but that second
    assert 70 <= view["failures"][BEHIND] <= 100 * (elapsed - 1) + 30, view


@integration
def test_websockets_reconnect_to_the_remaining_node(idle: TrafficLab) -> None:
    """node-2 stops: its WebSocket clients reconnect, with backoff, to node-1."""
    idle.set_traffic(ws_clients=4)
    idle.wait_for_view(lambda v: v["ws_nodes"] == {"node-1": 2, "node-2": 2}, "4 on 2 nodes")
    node_2 = idle.nodes["node-2"]
    node_2.terminate()
    try:
        node_2.wait(10)
        idle.wait_for_view(lambda v: v["ws_nodes"] == {"node-1": 4}, "all 4 on node-1")
    finally:
        idle.start_node("node-2")
        idle.wait(
            lambda: lookup(idle.redis, "node", "node-2") is not None, "node-2 back", timeout=30
        )
    idle.wait(lambda: idle.metrics("node-1").extra["websockets"] == 4, "node-1 holding 4")


@integration
def test_restart_resumes_the_stored_settings(idle: TrafficLab) -> None:
    """SIGTERM ends the generator cleanly; a new one resumes the last settings."""
    idle.set_traffic(rate=5, work_ms=3, variance_ms=1, ws_clients=2)
    idle.wait_for_view(lambda v: v["ws_open"] == 2 and v["sent"] > 0, "traffic and 2 sockets")
    idle.traffic.terminate()
    assert idle.traffic.wait(5) == 0
    assert lookup(idle.redis, "traffic", "traffic") is None  # deregistered on the way out
    idle.wait(lambda: idle.node_websockets() == 0, "the sockets closed with it")
    idle.redis.delete(traffic_keys.VIEW)
    idle.start_traffic()
    idle.wait(idle.listening, "the new generator registered and listening", timeout=30)
    view = idle.wait_for_view(
        lambda v: v["ws_open"] == 2 and v["sent"] > 0, "traffic and 2 sockets again"
    )
    assert (view["rate"], view["work_ms"], view["variance_ms"]) == (5, 3, 1)
