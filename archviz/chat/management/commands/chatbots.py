"""`manage.py chatbots`: chat bots in rooms through the LB, set live by `chat.bots` commands."""

import asyncio
import json
import logging

import redis
from django.core.management.base import BaseCommand

from archviz.chat import keys as chat_keys
from archviz.chat.bots import BotFleet, parse_bot_settings
from archviz.chat.control import ChatBotsCommand
from archviz.core import registry
from archviz.core.redis_conn import shared_client
from archviz.core.registry import Metrics
from archviz.core.runner import Component, component

log = logging.getLogger(__name__)
VIEW_TTL_MS = 3_000


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Run the chat bots: clients that join rooms through the load balancer and talk."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", default="chatbots", help="registry id (default chatbots)")

    def handle(self, *args, id: str, **options) -> None:
        with component(id, "chatbots") as running:
            running.run_async(_run)


class BalancerTarget:
    """The load balancer's address, followed through the registry on every heartbeat (only a
    registration that matches the supervisor's record)."""

    url = "http://127.0.0.1:1"

    def __call__(self) -> str:
        return self.url

    def refresh(self, client: redis.Redis) -> None:
        found = registry.trusted_lookup(client, "balancer", "lb")
        if found is not None:
            self.url = f"http://{found.address}"


async def _run(running: Component, stop: asyncio.Event) -> None:
    target = BalancerTarget()
    fleet = BotFleet(target)
    try:
        await asyncio.to_thread(target.refresh, shared_client())
        stored = await asyncio.to_thread(shared_client().get, chat_keys.BOTS)
        fleet.apply(parse_bot_settings(stored))
    except redis.RedisError as exc:
        log.warning("chatbots: could not read the stored settings (%s); starting with none", exc)
    running.beat(lambda: _collect(fleet, target, running))

    async def carry_out(command: ChatBotsCommand) -> None:
        if command["type"] != "chat.bots":
            return
        fleet.resize(command["room"], command["count"])
        stored = parse_bot_settings(await asyncio.to_thread(shared_client().get, chat_keys.BOTS))
        stored = {r: c for r, c in (stored | {command["room"]: command["count"]}).items() if c}
        await asyncio.to_thread(shared_client().set, chat_keys.BOTS, json.dumps(stored))

    listener = running.listen("chat.bots", carry_out)
    try:
        await stop.wait()
    finally:
        listener.cancel()
        await fleet.close()


def _collect(fleet: BotFleet, target: BalancerTarget, running: Component) -> Metrics:
    """On each heartbeat: follow the LB, publish the bots' snapshot."""
    client = shared_client()
    target.refresh(client)
    view = fleet.snapshot()
    client.set(chat_keys.BOTS_VIEW, json.dumps(view), px=VIEW_TTL_MS)
    return running.metrics(connections=view["total"], extra=view)
