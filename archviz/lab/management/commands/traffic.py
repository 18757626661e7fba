"""`manage.py traffic`: the traffic generator, set live by `traffic.set` control commands."""

import asyncio
import contextlib
import json
import logging
import os
import signal
from dataclasses import replace
from functools import partial

import redis
from django.conf import settings
from django.core.management.base import BaseCommand

from archviz.lab import keys
from archviz.lab.child import run_async_service
from archviz.lab.control import TrafficCommand, listen_for_commands
from archviz.lab.heartbeat import Heartbeat
from archviz.lab.redis_conn import shared_client
from archviz.lab.registry import Metrics, Registration, now_ms
from archviz.node.runtime import rss_bytes
from archviz.traffic.generator import (
    VIEW_TTL_MS,
    TrafficGenerator,
    TrafficSettings,
    find_target,
    load_settings,
    save_settings,
)

log = logging.getLogger(__name__)


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Send Poisson traffic and hold WebSockets through the load balancer (or the nodes)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", default="traffic", help="registry id (default traffic)")

    def handle(self, *args, id: str, **options) -> None:
        run_async_service(id, _run)


async def _run(component_id: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    generator = TrafficGenerator(await asyncio.to_thread(_resume))
    with contextlib.suppress(redis.RedisError):  # the heartbeat finds it later
        generator.target = await asyncio.to_thread(find_target, shared_client())
    registration = Registration(
        component_id, "traffic", os.getpid(), settings.ARCHVIZ_HOST, 0, now_ms()
    )
    heartbeat = Heartbeat(registration, lambda: _collect(generator, component_id))
    await generator.start()
    heartbeat.start()
    listener = asyncio.create_task(
        listen_for_commands(component_id, "traffic.", partial(_carry_out, generator))
    )
    try:
        await stop.wait()
    finally:
        listener.cancel()
        await generator.close()
        await asyncio.to_thread(heartbeat.stop)


def _resume() -> TrafficSettings:
    """The settings stored before a restart; idle defaults if there are none."""
    try:
        resumed = load_settings(shared_client())
    except redis.RedisError as exc:
        log.warning("could not read the stored traffic settings (%s); starting idle", exc)
        return TrafficSettings()
    log.info("traffic settings: %s", resumed)
    return resumed


def _collect(generator: TrafficGenerator, component_id: str) -> Metrics:
    """On each heartbeat: follow the registry, then publish the snapshot (view and metrics)."""
    client = shared_client()
    generator.target = find_target(client)
    view = generator.snapshot()
    client.set(keys.TRAFFIC_VIEW, json.dumps(view), px=VIEW_TTL_MS)
    return Metrics(
        id=component_id,
        ts=now_ms(),
        connections=view["in_flight"] + view["ws_open"],
        rps=round(view["sent"] / view["window_s"], 2),
        rss_bytes=rss_bytes(),
        extra=view,
    )


async def _carry_out(generator: TrafficGenerator, command: TrafficCommand) -> None:
    """Apply new settings live, and keep them in Redis so that a restart resumes them."""
    new = TrafficSettings.from_mapping(command)
    if "queue" not in command:  # the load-balancer page does not set it: keep it as it was
        new = replace(new, queue=generator.settings.queue)
    generator.apply(new)
    log.info("traffic set by %s: %s", command["by"] or "someone", new)
    try:
        await asyncio.to_thread(save_settings, shared_client(), new)
    except redis.RedisError as exc:
        log.warning(
            "could not store the traffic settings (a restart will not resume them): %s", exc
        )
