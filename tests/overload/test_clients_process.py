"""`manage.py overloadclients` as the lab runs it: a real process, real nodes behind the real
load balancer, commanded over the control channel, watched through its heartbeat metrics."""

import json
import re
from collections.abc import Iterator

import pytest
import redis

from archviz.core import registry
from archviz.core.control import send_command
from archviz.core.reconnect import POLICY_KEY
from archviz.core.redis_conn import sync_client
from tests.harness.lab import RunningLab
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.integration
CLIENTS_ID = "overloadclients"


@pytest.fixture(scope="module")
def lab_redis(lab: RunningLab) -> redis.Redis:
    """The lab's Redis, once its clients' process is up and beating."""
    client = sync_client(lab.redis_url)
    wait_for(lambda: registry.lookup(client, "overloadclients", CLIENTS_ID),
             "the overload clients registered", 40)  # fmt: skip
    return client


@pytest.fixture
def clients(lab: RunningLab, lab_redis: redis.Redis) -> Iterator["Clients"]:
    """The lab's overload clients, back to none after the test."""
    driver = Clients(lab, lab_redis)
    yield driver
    driver.command(count=0, target="lb", seconds=1)
    driver.wait_until(lambda v: v["wanted"] == 0 and v["open"] == 0, "every client closed")


class Clients:
    def __init__(self, lab: RunningLab, client: redis.Redis) -> None:
        self.lab, self.redis = lab, client

    def command(self, **fields: object) -> None:
        sent = {"type": "overload.clients", "by": "test", "trace": ""} | fields
        assert send_command(self.redis, sent) > 0

    def view(self) -> dict:
        found = registry.latest_metrics(self.redis, [CLIENTS_ID]).get(CLIENTS_ID)
        return found.extra if found is not None else {}

    def wait_until(self, condition, what: str, timeout: float = 30) -> dict:
        return wait_for(self.view, what, timeout, until=lambda v: bool(v) and condition(v),
                        explain=lambda: "\n".join(self.lab.lines[-30:]))  # fmt: skip


def test_twenty_clients_through_the_lb_spread_over_the_nodes(clients: Clients) -> None:
    """count 20 at the LB: 20 sockets open, on every node (each named by its hello); count 0
    closes them all."""
    clients.command(count=20, target="lb", seconds=60)
    view = clients.wait_until(lambda v: v["open"] == 20, "20 clients open through the LB")
    assert sum(view["nodes"].values()) == 20
    assert set(view["nodes"]) == {"node-1", "node-2", "node-3"}, view["nodes"]
    assert (view["wanted"], view["target"], view["refused_total"]) == (20, "lb", 0)
    assert view["handshakes_total"] >= 20
    clients.command(count=0, target="lb", seconds=1)
    view = clients.wait_until(lambda v: v["wanted"] == 0, "the clients closed")
    assert (view["open"], view["nodes"]) == (0, {})


def test_a_flood_at_node_2_puts_every_client_there(clients: Clients) -> None:
    """target node-2: straight at that node, past the balancer."""
    clients.command(count=12, target="node-2", seconds=60)
    view = clients.wait_until(lambda v: v["open"] == 12, "12 clients open on node-2")
    assert view["nodes"] == {"node-2": 12}
    assert view["target"] == "node-2"


def test_a_flood_ends_by_itself(clients: Clients) -> None:
    """seconds 1: the clients open, then the count goes back to 0 on its own."""
    clients.command(count=3, target="lb", seconds=1)
    clients.wait_until(lambda v: v["wanted"] == 3, "the flood started")
    clients.wait_until(lambda v: v["wanted"] == 0 and v["open"] == 0, "the flood over by itself")


def test_a_bad_command_is_refused_naming_the_field(clients: Clients) -> None:
    """count 5000 is refused with a message naming count; the clients are left as they were."""
    clients.command(count=4, target="lb", seconds=60)
    clients.wait_until(lambda v: v["open"] == 4, "4 clients open")
    clients.command(count=5000, target="lb", seconds=60)
    clients.command(count=2, target="lb", seconds=60)  # after the bad one: it was carried past
    clients.wait_until(lambda v: v["wanted"] == 2, "the next good command carried out")
    refusal = re.compile(
        r"overloadclients: ignored a malformed control command: count must be .*2000"
    )
    wait_for(lambda: "\n".join(clients.lab.lines), "the refusal logged", 10,
             until=refusal.search)  # fmt: skip


def test_the_reconnect_policy_in_force_is_read_from_redis(clients: Clients) -> None:
    """An instructor's policy in the hash is the one the clients report; a bad field is named."""
    clients.redis.hset(POLICY_KEY, mapping={"policy": "fixed", "base_ms": "300", "cap_ms": "900"})
    try:
        view = clients.wait_until(lambda v: v["policy"]["policy"] == "fixed", "the fixed policy")
        assert view["policy"] == {"policy": "fixed", "base_ms": 300, "cap_ms": 900}
        clients.redis.hset(POLICY_KEY, "base_ms", "soon")
        view = clients.wait_until(lambda v: v["policy_problem"], "the bad base_ms named")
        assert "base_ms 'soon'" in view["policy_problem"]
        assert view["policy"]["base_ms"] == 250
    finally:
        clients.redis.delete(POLICY_KEY)
    clients.wait_until(lambda v: v["policy"]["policy"] == "full_jitter", "the default again")


def test_the_metrics_are_json_the_page_can_read(clients: Clients) -> None:
    """Every field the page draws is in the heartbeat (and the snapshot is plain JSON)."""
    view = clients.wait_until(lambda v: "handshakes_per_s" in v, "a heartbeat")
    expected = {"wanted", "open", "connecting", "nodes", "refused_total", "shed_total",
                "reconnects_total", "handshakes_per_s", "policy"}  # fmt: skip
    assert expected <= set(view)
    assert json.loads(json.dumps(view)) == view
