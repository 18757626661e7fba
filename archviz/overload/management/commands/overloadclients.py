"""`manage.py overloadclients`: the overload demo's WebSocket clients, set live by
`overload.clients` commands (how many, through the LB or at one node, for how long)."""

import asyncio
import logging

import redis
from django.core.management.base import BaseCommand

from archviz.core import registry
from archviz.core.control import ControlCommand
from archviz.core.reconnect import POLICY_KEY, parse_policy
from archviz.core.registry import Metrics
from archviz.core.runner import Component, component
from archviz.overload.clients import ClientFleet, Rate
from archviz.overload.control import DEFAULT_FLOOD_S, LB

log = logging.getLogger(__name__)


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Run the overload demo's WebSocket clients: held on the nodes, reconnecting by policy."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", default="overloadclients", help="registry id")

    def handle(self, *args, id: str, **options) -> None:
        with component(id, "overloadclients") as running:
            running.run_async(_run)


class Addresses:
    """Where clients may connect, followed through the registry on every heartbeat: the
    load balancer and each node, only registrations that match the supervisor's records.
    While Redis is away the last ones found are kept."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def __call__(self, target: str) -> str | None:
        return self.found.get(target)

    def refresh(self, client: redis.Redis) -> None:
        found = {node.id: f"http://{node.address}" for node in registry.trusted(client, "node")}
        balancer = registry.trusted_lookup(client, "balancer", LB)
        if balancer is not None:
            found[LB] = f"http://{balancer.address}"
        self.found = found


class PolicyReader:
    """The lab-wide reconnect policy, read on every heartbeat; a bad hash is logged once."""

    def __init__(self, fleet: ClientFleet) -> None:
        self.fleet = fleet

    def refresh(self, client: redis.Redis) -> None:
        policy, problem = parse_policy(client.hgetall(POLICY_KEY))
        if problem and problem != self.fleet.policy_problem:
            log.warning("overload clients: the reconnect policy in %s: %s", POLICY_KEY, problem)
        if policy != self.fleet.policy:
            log.info("overload clients: reconnect policy now %s", policy.as_dict())
        self.fleet.policy, self.fleet.policy_problem = policy, problem


async def _run(running: Component, stop: asyncio.Event) -> None:
    addresses = Addresses()
    fleet = ClientFleet(addresses)
    policy = PolicyReader(fleet)
    rate = Rate()

    def on_beat(client: redis.Redis) -> None:  # the heartbeat's thread; its errors logged once
        addresses.refresh(client)
        policy.refresh(client)

    def collect() -> Metrics:
        view = fleet.snapshot()
        view["handshakes_per_s"] = rate.per_second(view["handshakes_total"])
        return running.metrics(connections=view["open"], extra=view)

    running.beat(collect, on_beat=on_beat)

    async def carry_out(command: ControlCommand) -> None:
        if command["type"] != "overload.clients":
            return
        # .get: another parser of the same command (the page's) may leave `seconds` out
        seconds = command.get("seconds", DEFAULT_FLOOD_S)
        log.info("overload clients: %s at %s for %s s (asked by %s)", command["count"],
                 command["target"], seconds, command["by"] or "?")  # fmt: skip
        fleet.apply(command["count"], command["target"], seconds)

    listener = running.listen("overload.clients", carry_out)
    try:
        await stop.wait()
    finally:
        listener.cancel()
        await fleet.close()
