"""`manage.py chatbots`: chat bots in rooms through the LB, set live by `chat.bots` commands."""

import asyncio
import json
import logging
import os
import signal

import redis
from django.conf import settings
from django.core.management.base import BaseCommand

from archviz.chat.bots import BotFleet, parse_bot_settings
from archviz.lab import keys, registry
from archviz.lab.child import run_async_service
from archviz.lab.control import ChatBotsCommand, listen_for_commands
from archviz.lab.heartbeat import Heartbeat
from archviz.lab.redis_conn import shared_client
from archviz.lab.registry import Metrics, Registration, now_ms
from archviz.node.runtime import rss_bytes

log = logging.getLogger(__name__)
VIEW_TTL_MS = 3_000


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Run the chat bots: clients that join rooms through the load balancer and talk."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", default="chatbots", help="registry id (default chatbots)")

    def handle(self, *args, id: str, **options) -> None:
        run_async_service(id, _run)


class _Target:
    """The load balancer's address, followed through the registry on every heartbeat."""

    url = "http://127.0.0.1:1"

    def __call__(self) -> str:
        return self.url

    def refresh(self, client: redis.Redis) -> None:
        found = registry.lookup(client, "balancer", "lb")
        if found is not None:
            self.url = f"http://{found.address}"


async def _run(component_id: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    target = _Target()
    fleet = BotFleet(target)
    try:
        await asyncio.to_thread(target.refresh, shared_client())
        stored = await asyncio.to_thread(shared_client().get, keys.CHAT_BOTS)
        fleet.apply(parse_bot_settings(stored))
    except redis.RedisError as exc:
        log.warning("chatbots: could not read the stored settings (%s); starting with none", exc)
    registration = Registration(
        component_id, "chatbots", os.getpid(), settings.ARCHVIZ_HOST, 0, now_ms()
    )
    heartbeat = Heartbeat(registration, lambda: _collect(fleet, target, component_id))
    heartbeat.start()

    async def carry_out(command: ChatBotsCommand) -> None:
        if command["type"] != "chat.bots":
            return
        fleet.resize(command["room"], command["count"])
        stored = parse_bot_settings(await asyncio.to_thread(shared_client().get, keys.CHAT_BOTS))
        stored = {r: c for r, c in (stored | {command["room"]: command["count"]}).items() if c}
        await asyncio.to_thread(shared_client().set, keys.CHAT_BOTS, json.dumps(stored))

    listener = asyncio.create_task(listen_for_commands(component_id, "chat.bots", carry_out))
    try:
        await stop.wait()
    finally:
        listener.cancel()
        await fleet.close()
        await asyncio.to_thread(heartbeat.stop)


def _collect(fleet: BotFleet, target: _Target, component_id: str) -> Metrics:
    """On each heartbeat: follow the LB, publish the bots' snapshot."""
    client = shared_client()
    target.refresh(client)
    view = fleet.snapshot()
    client.set(keys.CHAT_BOTS_VIEW, json.dumps(view), px=VIEW_TTL_MS)
    return Metrics(id=component_id, ts=now_ms(), connections=view["total"], rps=0.0,
                   rss_bytes=rss_bytes(), extra=view)  # fmt: skip
