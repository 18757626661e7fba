"""The gateway demo's processes in a real lab: started by the supervisor from the admin's rows,
registered, restarted when killed, stopped when disabled; on ports that leave the nodes' alone."""

import json
import os
import signal
import socket
from collections.abc import Iterator

import pytest
import redis
from django.core.management import get_commands

from archviz.core import keys, registry
from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.gateway.processes import KINDS
from tests.harness.lab import RunningLab
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.integration

SERVICES = ("catalog-1", "catalog-2", "bidding-1", "bidding-2")  # the commands that exist now
DEFAULT_ROWS = {"gateway-1": "gateway", "gateway-2": "gateway", "auth-1": "auth",
                "catalog-1": "catalog", "catalog-2": "catalog", "bidding-1": "bidding",
                "bidding-2": "bidding", "auctionbots": "auctionbots"}  # fmt: skip


class GatewayLab:
    def __init__(self, lab: RunningLab, node_base_port: int) -> None:
        self.lab = lab
        self.node_base_port = node_base_port
        self.redis: redis.Redis = sync_client(lab.redis_url)

    def records(self) -> dict[str, dict]:
        """The supervisor's records of its children, by id."""
        raw = self.redis.hgetall(keys.PROCESSES)
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    def wait_records(self, until, what: str, timeout: float = 60) -> dict[str, dict]:
        self.lab.process.check_running()
        return wait_for(self.records, what, timeout, until=until, interval=0.1)

    def wait_up(self, ids: tuple[str, ...], timeout: float = 60) -> dict[str, dict]:
        return self.wait_records(
            lambda r: all(r.get(i, {}).get("status") == "up" for i in ids),
            f"{', '.join(ids)} up",
            timeout,
        )


@pytest.fixture(scope="module")
def gateway_lab(tmp_path_factory) -> Iterator[GatewayLab]:
    """A whole lab whose nodes number their ports from a free one, with its first processes of
    the gateway demo up."""
    base = free_port("127.0.0.1")
    lab = RunningLab(
        tmp_path_factory.mktemp("gateway-lab"), gateway_demo=True, ARCHVIZ_NODE_PORT=str(base)
    ).start()
    try:
        running = GatewayLab(lab, base)
        running.wait_up(SERVICES)
        yield running
    finally:
        lab.process.close(timeout=15)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_catalog_and_bidding_replicas_run_as_the_labs_children(gateway_lab) -> None:
    """Each is its own live process under the lab, on a port of its own, registered under its
    kind with the pid and port the supervisor recorded."""
    records = gateway_lab.records()
    pids = {records[i]["pid"] for i in SERVICES}
    assert len(pids) == 4 and pids <= gateway_lab.lab.descendants()
    assert all(_alive(pid) for pid in pids)
    assert len({records[i]["port"] for i in SERVICES}) == 4
    for kind in ("catalog", "bidding"):
        found = {r.id: (r.pid, r.port) for r in registry.trusted(gateway_lab.redis, kind)}
        assert found == {
            i: (records[i]["pid"], records[i]["port"]) for i in SERVICES if i.startswith(kind)
        }


def test_every_default_row_runs_or_is_skipped_for_want_of_its_command(gateway_lab) -> None:
    """A row whose command this checkout has is the lab's child; the others' kinds are named
    in the lab's log as skipped, and never started."""
    records = gateway_lab.records()
    output = gateway_lab.lab.process.output()
    commands = get_commands()
    for name, kind in DEFAULT_ROWS.items():
        if kind in commands:
            assert records[name]["kind"] == kind
        else:
            assert name not in records
            assert f"no `manage.py {kind}` command here; its processes are skipped" in output
    assert set(DEFAULT_ROWS.values()) == set(KINDS)


def test_their_ports_leave_the_nodes_numbered_ports_alone(gateway_lab) -> None:
    """The services started before node-1 (their names sort first) and still node-1 has the
    first of the nodes' ports: theirs are free ones elsewhere."""
    records = gateway_lab.wait_up(("node-1",))
    assert records["node-1"]["port"] == gateway_lab.node_base_port
    node_ports = {r["port"] for r in records.values() if r["kind"] == "node"}
    assert not node_ports & {records[i]["port"] for i in SERVICES}


def test_a_killed_bidding_replica_is_restarted_with_a_new_pid_on_its_port(gateway_lab) -> None:
    """SIGKILL bidding-1: the supervisor restarts it, a new process on the same port, which
    registers again."""
    before = gateway_lab.records()["bidding-1"]
    os.kill(before["pid"], signal.SIGKILL)
    after = gateway_lab.wait_records(
        lambda r: r["bidding-1"]["status"] == "up" and r["bidding-1"]["pid"] != before["pid"],
        "bidding-1 restarted",
    )["bidding-1"]
    assert after["restarts"] == before["restarts"] + 1
    assert after["port"] == before["port"] and _alive(after["pid"])
    registered = registry.trusted_lookup(gateway_lab.redis, "bidding", "bidding-1")
    assert registered is not None and registered.pid == after["pid"]


def test_a_replica_whose_port_was_taken_meanwhile_restarts_on_another(gateway_lab) -> None:
    """SIGKILL catalog-1 and take its port before the supervisor restarts it (as another
    process picking the same free port would): it comes back on a new port, not crashing on
    the old one until given up on."""
    before = gateway_lab.records()["catalog-1"]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        os.kill(before["pid"], signal.SIGKILL)
        wait_for(lambda: not _alive(before["pid"]), "catalog-1's process to die", 10)
        wait_for(lambda: _bound(squatter, before["port"]), "catalog-1's port taken", 10)
        squatter.listen()
        after = gateway_lab.wait_records(
            lambda r: r["catalog-1"]["status"] == "up" and r["catalog-1"]["pid"] != before["pid"],
            "catalog-1 restarted on another port",
        )["catalog-1"]
    assert after["port"] != before["port"] and after["restarts"] == before["restarts"] + 1
    registered = registry.trusted_lookup(gateway_lab.redis, "catalog", "catalog-1")
    assert registered is not None and registered.port == after["port"]


def _bound(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_a_row_disabled_in_the_admin_stops_its_process(gateway_lab) -> None:
    """catalog-2 unticked: its process exits and the supervisor forgets it; catalog-1 runs on."""
    pid = gateway_lab.records()["catalog-2"]["pid"]
    gateway_lab.lab.shell(
        "from archviz.gateway.models import GatewayProcess\n"
        "GatewayProcess.objects.filter(name='catalog-2').update(enabled=False)\n"
    )
    records = gateway_lab.wait_records(lambda r: "catalog-2" not in r, "catalog-2 stopped", 20)
    wait_for(lambda: not _alive(pid), "catalog-2's process to exit", 10)
    assert records["catalog-1"]["status"] == "up"


def test_the_balancers_gateway_listener_finds_both_replicas_healthy(gateway_lab) -> None:
    """LB :8200 → gateway-1 and gateway-2: both pass its health check (GET /gateway/health)."""

    def listener() -> dict | None:
        raw = gateway_lab.redis.get(keys.metrics("lb"))
        return json.loads(raw)["extra"].get("gateway_listener") if raw else None

    found = wait_for(
        listener,
        "both gateway replicas healthy behind the balancer",
        60,
        until=lambda g: (
            g is not None
            and sorted(b["id"] for b in g["backends"] if b["health"] == "healthy")
            == ["gateway-1", "gateway-2"]
        ),
    )
    assert found["port"] > 0
