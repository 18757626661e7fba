"""`manage.py auctionbots`: bidding bots through the API gateway, as many as an instructor
sets live with the `gateway.bots` command (kept in Redis across restarts)."""

import asyncio
import json
import logging

import redis
from django.core.management.base import BaseCommand, CommandError

from archviz.core import registry
from archviz.core.redis_conn import shared_client
from archviz.core.registry import Metrics
from archviz.core.runner import Component, component
from archviz.gateway import control, keys
from archviz.gateway.bidder import BidderFleet
from archviz.gateway.control import MAX_AUCTION_BOTS, GatewayBotsCommand

log = logging.getLogger(__name__)
VIEW_TTL_MS = 3_000
# in the balancer's metrics' extra: its gateway listener (balancer/app.py), and that one's port
GATEWAY_LISTENER_FIELD = "gateway_listener"
NOWHERE = "http://127.0.0.1:1"  # until a gateway is found: every request fails, and is retried


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Run the bidding bots: clients that bid in the auctions through the API gateway."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", default="auctionbots", help="registry id (default auctionbots)")
        parser.add_argument("--base-url", default="",
                            help="the gateway's URL (default: found in the registry)")  # fmt: skip
        parser.add_argument("--count", type=int, default=None,
                            help=f"bots to start with, 0-{MAX_AUCTION_BOTS} (default: the "
                                 "count kept in Redis, else 0)")  # fmt: skip

    def handle(self, *args, id: str, base_url: str, count: int | None, **options) -> None:
        if count is not None and not 0 <= count <= MAX_AUCTION_BOTS:
            raise CommandError(f"--count must be from 0 to {MAX_AUCTION_BOTS}")
        # The gateway app's ready() registers it for the senders (the dashboards); once
        # more here does no harm, and this process needs it to read the commands.
        control.register()
        target = GatewayAddress(base_url or None)
        with component(id, "auctionbots") as running:
            running.run_async(lambda running, stop: _run(running, stop, target, count))


class GatewayAddress:
    """Where the bots send their requests, followed through the registry on every heartbeat
    (unless fixed): the balancer's gateway listener (the port its metrics name as
    GATEWAY_LISTENER_FIELD's port, on the host of the supervisor's own balancer), else the first
    gateway replica the supervisor vouches for, else where it was."""

    def __init__(self, fixed: str | None = None) -> None:
        self.fixed = fixed
        self.url = fixed or NOWHERE

    def __call__(self) -> str:
        return self.url

    def refresh(self, client: redis.Redis) -> None:
        if self.fixed is None:
            self.url = find_gateway(client) or self.url


def find_gateway(client: redis.Redis) -> str | None:
    """The gateway's base URL as the registry has it (only registrations that match the
    supervisor's records), or None."""
    balancer = registry.trusted_lookup(client, "balancer", "lb")
    if balancer is not None:
        port = _gateway_port(client, balancer.id)
        if port is not None:
            return f"http://{_host(balancer.host)}:{port}"
    replicas = registry.trusted(client, "gateway")
    return f"http://{_host(replicas[0].host)}:{replicas[0].port}" if replicas else None


def _gateway_port(client: redis.Redis, balancer_id: str) -> int | None:
    try:
        found = registry.latest_metrics(client, [balancer_id]).get(balancer_id)
    except (ValueError, TypeError):  # a metrics record that is not one
        return None
    listener = found.extra.get(GATEWAY_LISTENER_FIELD) if found is not None else None
    port = listener.get("port") if isinstance(listener, dict) else None
    valid = isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65_536
    return port if valid else None


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def stored_count(raw: bytes | str | None) -> int:
    """The count kept in Redis, if it is one (0 otherwise)."""
    try:
        count = int(raw) if raw is not None else 0
    except ValueError:
        return 0
    return count if 0 <= count <= MAX_AUCTION_BOTS else 0


async def _run(
    running: Component, stop: asyncio.Event, target: GatewayAddress, count: int | None
) -> None:
    fleet = BidderFleet(target)
    try:
        await asyncio.to_thread(target.refresh, shared_client())
        if count is None:
            count = stored_count(await asyncio.to_thread(shared_client().get, keys.BOTS))
    except redis.RedisError as exc:
        log.warning("auctionbots: could not read the stored count (%s); starting with none", exc)
    fleet.resize(count or 0)
    running.beat(lambda: _collect(fleet, target, running))

    async def carry_out(command: GatewayBotsCommand) -> None:
        if command["type"] != "gateway.bots":
            return
        fleet.resize(command["count"])
        await asyncio.to_thread(shared_client().set, keys.BOTS, command["count"])

    listener = running.listen("gateway.bots", carry_out)
    try:
        await stop.wait()
    finally:
        listener.cancel()
        await fleet.close()


def _collect(fleet: BidderFleet, target: GatewayAddress, running: Component) -> Metrics:
    """On each heartbeat: follow the gateway, publish what the bots are doing."""
    client = shared_client()
    target.refresh(client)
    view = fleet.snapshot() | {"gateway": target()}
    client.set(keys.BOTS_VIEW, json.dumps(view), px=VIEW_TTL_MS)
    return running.metrics(connections=view["connected"], extra=view)
