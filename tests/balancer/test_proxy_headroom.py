"""Headroom first through the real balancer, in front of real nodes, on a real Redis.

The nodes' own pressure reports (keys.node_pressure, every 100 ms) are the balancer's input.
A node is put over its reject threshold by lowering the threshold below its own measured
pressure. A node that stops reporting is covered by tests/balancer/test_headroom.py and
test_backends.py (pure and in-process), as a frozen node here would also fail its health
checks.
"""

import re
from collections import Counter
from collections.abc import Iterator

import aiohttp
import pytest

from archviz.core import keys
from tests.balancer.conftest import HOST, BalancerLab, pubsub_events, served_by
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.integration

ALL = {"node-1", "node-2", "node-3"}
OVER = 1  # % pressure: an idle node's own pressure (its memory, its loop) is above this


class Thresholds:
    """Sets the nodes' reject thresholds in their config (the supervisor's hash), and waits
    until the balancer reads them from the nodes' own pressure reports."""

    def __init__(self, lab: BalancerLab) -> None:
        self.lab = lab
        self.changed: set[str] = set()

    def set(self, percents: dict[str, int]) -> None:
        for node_id, percent in percents.items():
            self.lab.redis.hset(keys.node_config(node_id), "reject_above", percent)
            self.changed.add(node_id)
        wait_for(
            lambda: self._shown(percents), f"the balancer reading the thresholds {percents}", 10
        )

    def _shown(self, percents: dict[str, int]) -> bool:
        backends = self.lab.backends()
        return all(
            backends.get(node_id, {}).get("reporting")
            and backends[node_id]["reject_above"] == percent / 100
            for node_id, percent in percents.items()
        )

    def reset(self) -> None:
        self.set(dict.fromkeys(self.changed, 100))  # the balancer tests' nodes' own


@pytest.fixture
def thresholds(balancer_lab: BalancerLab) -> Iterator[Thresholds]:
    """Round robin, and thresholds the test sets; back to 100 % afterwards."""
    balancer_lab.set_algorithm("round_robin")
    setting = Thresholds(balancer_lab)
    yield setting
    setting.reset()


def _routes(lab: BalancerLab, count: int, path: str = "/work") -> tuple[Counter, list[dict]]:
    """Send `count` GETs of `path` through the balancer: who served them, and their
    lb.route."""
    with lab.trace() as pubsub:
        served = Counter(served_by(lab.url + path + "?ms=0") for _ in range(count))
        seen: list[dict] = []

        def enough(event: dict) -> bool:
            if event["kind"] == "lb.route" and event["detail"]["path"] == path:
                seen.append(event)
            return len(seen) == count

        pubsub_events(pubsub, enough)
    return served, seen


def test_a_node_over_its_threshold_gets_no_new_requests(
    balancer_lab: BalancerLab, thresholds: Thresholds
) -> None:
    """node-1 over its threshold (its own measured pressure above 1 %): every request goes
    to node-2 or node-3, and the route says why."""
    diverted_before = balancer_lab.metrics()["extra"]["diverted_total"]
    thresholds.set({"node-1": OVER})
    served, routes = _routes(balancer_lab, 12)
    assert served == {"node-2": 6, "node-3": 6}
    why = re.compile(
        r"node-1 over its reject threshold \(0\.\d\d > 0\.01\): among node-2, node-3; round robin"
    )
    assert all(why.match(r["detail"]["reason"]) for r in routes), routes[0]
    wait_for(
        lambda: balancer_lab.metrics()["extra"]["diverted_total"] - diverted_before,
        "diverted_total counting the 12",
        5,
        until=lambda n: n >= 12,
    )


def test_when_every_node_is_over_requests_still_go_through(
    balancer_lab: BalancerLab, thresholds: Thresholds
) -> None:
    """No headroom anywhere: the balancer picks among all as before (the nodes then refuse
    new work themselves; their health answers)."""
    thresholds.set(dict.fromkeys(ALL, OVER))
    served, routes = _routes(balancer_lab, 9, path="/health")
    assert served == dict.fromkeys(ALL, 3)
    reasons = {r["detail"]["reason"].partition(";")[0] for r in routes}
    assert reasons == {"no node under its reject threshold: among all"}


async def test_a_new_websocket_goes_to_a_node_with_headroom(
    balancer_lab: BalancerLab, thresholds: Thresholds
) -> None:
    """WebSockets are routed by headroom too: with node-1 and node-3 over, each lands on
    node-2, and its route event says so."""
    thresholds.set({"node-1": OVER, "node-3": OVER})
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
    why = re.compile(
        r"node-1 over its reject threshold \(0\.\d\d > 0\.01\), "
        r"node-3 over its reject threshold \(0\.\d\d > 0\.01\): node-2 has headroom"
    )
    assert why.match(events[-1]["detail"]["reason"]), events[-1]["detail"]["reason"]
