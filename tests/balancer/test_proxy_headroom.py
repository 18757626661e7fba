"""Headroom first through the real balancer, in front of real nodes, on a real Redis.

The nodes' pressure reports are the balancer's input (the contract of issue 12:
keys.node_pressure, JSON, PX 1500, every 100 ms). Here the test writes them for the real
running nodes, as a node would, so that the pressure is exactly what each test needs; what is
under test is the balancer's reading and routing.
"""

import json
import threading
from collections import Counter
from collections.abc import Iterator

import aiohttp
import pytest

from archviz.core import keys
from archviz.core.registry import now_ms
from tests.balancer.conftest import HOST, BalancerLab, pubsub_events, served_by
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.integration

ALL = {"node-1", "node-2", "node-3"}
REPORT_EVERY_S = 0.1  # the node's cadence (contract)
REPORT_PX = 1500


class Reports:
    """Writes each node's pressure report every 100 ms with PX 1500, as the nodes do; a node
    set to None gets no report (its key expires, as a frozen node's does)."""

    def __init__(self, lab: BalancerLab) -> None:
        self.lab = lab
        self.values: dict[str, float | None] = {}
        self.reject_above = 0.8
        self._lock = threading.Lock()  # a write of the old values never follows set()'s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write_forever, daemon=True)

    def set(self, values: dict[str, float | None], reject_above: float = 0.8) -> None:
        """Report these values from now on, and wait until the balancer shows them."""
        with self._lock:
            self.reject_above = reject_above
            self.values = dict(values)
            self._write()
            for node_id, value in values.items():
                if value is None:
                    self.lab.redis.delete(keys.node_pressure(node_id))
        wait_for(self._shown, f"the balancer showing the pressures {values}", 5)

    def _shown(self) -> bool:
        backends = self.lab.backends()
        for node_id, value in self.values.items():
            shown = backends.get(node_id, {})
            want = (value, True) if value is not None else (1.0, False)
            if (shown.get("pressure"), shown.get("reporting")) != want:
                return False
        return True

    def _write(self) -> None:
        for node_id, value in self.values.items():
            if value is not None:
                report = {"value": value, "reject_above": self.reject_above,
                          "shed_above": 0.95, "ts": now_ms()}  # fmt: skip
                self.lab.redis.set(keys.node_pressure(node_id), json.dumps(report), px=REPORT_PX)

    def _write_forever(self) -> None:
        while not self._stop.wait(REPORT_EVERY_S):  # the writer's cadence, not a wait
            with self._lock:
                self._write()

    def __enter__(self) -> "Reports":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        for node_id in self.values:
            self.lab.redis.delete(keys.node_pressure(node_id))


@pytest.fixture
def reports(balancer_lab: BalancerLab) -> Iterator[Reports]:
    """Round robin, and pressure reports the test sets; none left afterwards."""
    balancer_lab.set_algorithm("round_robin")
    with Reports(balancer_lab) as writing:
        yield writing
    wait_for(
        lambda: not any(b["reporting"] for b in balancer_lab.backends().values()),
        "the balancer seeing no report any more",
        5,
    )


def _routes(lab: BalancerLab, count: int) -> tuple[Counter, list[dict]]:
    """Send `count` GET /work through the balancer: who served them, and their lb.route."""
    with lab.trace() as pubsub:
        served = Counter(served_by(lab.url + "/work?ms=0") for _ in range(count))
        seen: list[dict] = []

        def enough(event: dict) -> bool:
            if event["kind"] == "lb.route" and event["detail"]["path"] == "/work":
                seen.append(event)
            return len(seen) == count

        pubsub_events(pubsub, enough)
    return served, seen


def test_a_node_over_its_threshold_gets_no_new_requests(
    balancer_lab: BalancerLab, reports: Reports
) -> None:
    """node-1 at 0.93 over 0.80: every request goes to node-2 or node-3, and says why."""
    diverted_before = balancer_lab.metrics()["extra"]["diverted_total"]
    reports.set({"node-1": 0.93, "node-2": 0.1, "node-3": 0.2})
    served, routes = _routes(balancer_lab, 12)
    assert served == {"node-2": 6, "node-3": 6}
    why = "node-1 over its reject threshold (0.93 > 0.80): among node-2, node-3; round robin"
    assert all(r["detail"]["reason"].startswith(why) for r in routes), routes[0]
    wait_for(
        lambda: balancer_lab.metrics()["extra"]["diverted_total"] - diverted_before,
        "diverted_total counting the 12",
        5,
        until=lambda n: n >= 12,
    )


def test_a_node_that_stops_reporting_counts_as_overloaded(
    balancer_lab: BalancerLab, reports: Reports
) -> None:
    """node-2's report expires (a frozen node's would): it is pressure 1.0, not reporting,
    and the one node left with headroom takes every new request."""
    reports.set({"node-1": 0.5, "node-2": None, "node-3": 0.85})
    served, routes = _routes(balancer_lab, 6)
    assert served == {"node-1": 6}
    why = (
        "node-2 not reporting, node-3 over its reject threshold (0.85 > 0.80): "
        "node-1 has headroom; round robin"
    )
    assert all(r["detail"]["reason"].startswith(why) for r in routes), routes[0]


def test_when_every_node_is_over_requests_still_go_through(
    balancer_lab: BalancerLab, reports: Reports
) -> None:
    """No headroom anywhere: the balancer picks among all as before (the nodes refuse)."""
    reports.set({"node-1": 0.9, "node-2": 0.95, "node-3": 1.0})
    served, routes = _routes(balancer_lab, 9)
    assert served == dict.fromkeys(ALL, 3)
    reasons = {r["detail"]["reason"].partition(";")[0] for r in routes}
    assert reasons == {"no node under its reject threshold: among all"}


def test_a_node_own_threshold_is_what_counts(balancer_lab: BalancerLab, reports: Reports) -> None:
    """At 0.93 a node whose reject threshold is 1.0 (100 %: never) still has headroom."""
    reports.set({"node-1": 0.93, "node-2": 0.93, "node-3": 0.93}, reject_above=1.0)
    served, routes = _routes(balancer_lab, 3)
    assert served == dict.fromkeys(ALL, 1)
    assert all(r["detail"]["reason"].startswith("round robin") for r in routes), routes


async def test_a_new_websocket_goes_to_a_node_with_headroom(
    balancer_lab: BalancerLab, reports: Reports
) -> None:
    """WebSockets are routed by headroom too: with node-1 and node-3 over, each lands on
    node-2, and its route event says so."""
    reports.set({"node-1": 0.99, "node-2": 0.3, "node-3": 0.81})
    url = f"ws://{HOST}:{balancer_lab.lb_port}/ws/hold/"
    homes = []
    with balancer_lab.trace() as pubsub:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.ws_connect(url) as ws:
                    homes.append((await ws.receive_json(timeout=5))["node"])
        events = pubsub_events(
            pubsub, lambda e: e["kind"] == "lb.route" and e["detail"]["path"] == "/ws/hold/"
        )
    assert homes == ["node-2"] * 3
    assert events[-1]["detail"]["reason"].startswith(
        "node-1 over its reject threshold (0.99 > 0.80), "
        "node-3 over its reject threshold (0.81 > 0.80): node-2 has headroom"
    )
