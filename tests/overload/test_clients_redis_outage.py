"""`manage.py overloadclients` when Redis goes away: it keeps its clients open on a real node,
says so once, and is commanded again once Redis is back."""

import secrets
from collections.abc import Iterator

import pytest

from archviz.core import registry
from archviz.core.control import send_command
from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.lab.embedded_redis import EmbeddedRedis
from tests.harness.processes import ManagePy, command_env, stop_all
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.integration
NODE = "node-9"


class Outage:
    """A Redis of its own (this test stops it), a real node on it, and the clients."""

    def __init__(self) -> None:
        self.server = EmbeddedRedis(password=secrets.token_urlsafe(16)).start()
        self.redis = sync_client(self.server.url)
        env = command_env(REDIS_URL=self.server.url)
        self.port = free_port("127.0.0.1")
        self.node = ManagePy("node", "--id", NODE, "--port", str(self.port), env=env, name=NODE)
        self.vouch()
        self.clients = ManagePy("overloadclients", env=env)

    def vouch(self) -> None:
        registry.vouch(self.redis, NODE, "node", self.node.pid, self.port)

    def command(self, count: int) -> None:
        sent = {"type": "overload.clients", "count": count, "target": NODE, "seconds": 60}
        assert send_command(self.redis, sent | {"by": "test", "trace": ""}) > 0

    def view(self) -> dict:
        self.clients.check_running()
        found = registry.latest_metrics(self.redis, ["overloadclients"]).get("overloadclients")
        return found.extra if found is not None else {}

    def wait_until(self, condition, what: str, timeout: float = 30) -> dict:
        return wait_for(self.view, what, timeout, until=lambda v: bool(v) and condition(v),
                        explain=lambda: self.clients.output(last=30))  # fmt: skip


@pytest.fixture
def outage() -> Iterator[Outage]:
    made = Outage()
    try:
        yield made
    finally:
        stop_all([made.clients, made.node])
        made.server.stop()


def test_the_clients_outlive_a_redis_outage(outage: Outage) -> None:
    """Redis stops: the clients stay open on the node and the process logs it once; Redis is
    back: its heartbeat and its commands work again."""
    outage.clients.wait_registered(outage.redis, "overloadclients")
    outage.node.wait_registered(outage.redis, "node", NODE)
    outage.command(3)
    outage.wait_until(lambda v: v["nodes"] == {NODE: 3}, "3 clients open on the node")
    outage.server.stop()
    outage.clients.wait_for_line(r"heartbeat failed", timeout=10)
    outage.clients.wait_for_line(r"control channel lost", timeout=10)
    outage.server.start()  # the same port, empty: the supervisor's records are gone too
    outage.vouch()
    view = outage.wait_until(lambda v: v["wanted"] == 3, "the heartbeat back")
    assert view["nodes"] == {NODE: 3}  # held right through the outage
    outage.clients.wait_for_line(r"listening for commands again", timeout=10)
    outage.command(5)
    outage.wait_until(lambda v: v["nodes"] == {NODE: 5}, "a command after the outage")
    assert outage.clients.output().count("heartbeat failed") == 1  # once per outage
    assert outage.clients.alive()
