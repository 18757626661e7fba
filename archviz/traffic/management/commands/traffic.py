"""`manage.py traffic`: the traffic generator, set live by `traffic.set` control commands."""

import asyncio
import contextlib
import json
import logging
from dataclasses import replace
from functools import partial

import redis
from django.core.management.base import BaseCommand

from archviz.core.redis_conn import shared_client
from archviz.core.registry import Metrics
from archviz.core.runner import Component, component
from archviz.traffic import keys as traffic_keys
from archviz.traffic.control import TrafficCommand
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
        with component(id, "traffic") as running:
            running.run_async(_run)


async def _run(running: Component, stop: asyncio.Event) -> None:
    generator = TrafficGenerator(await asyncio.to_thread(_resume))
    with contextlib.suppress(redis.RedisError):  # the heartbeat finds it later
        generator.target = await asyncio.to_thread(find_target, shared_client())
    await generator.start()
    running.beat(lambda: _collect(generator, running))
    listener = running.listen("traffic.", partial(_carry_out, generator))
    try:
        await stop.wait()
    finally:
        listener.cancel()
        await generator.close()


def _resume() -> TrafficSettings:
    """The settings stored before a restart; idle defaults if there are none."""
    try:
        resumed = load_settings(shared_client())
    except redis.RedisError as exc:
        log.warning("could not read the stored traffic settings (%s); starting idle", exc)
        return TrafficSettings()
    log.info("traffic settings: %s", resumed)
    return resumed


def _collect(generator: TrafficGenerator, running: Component) -> Metrics:
    """On each heartbeat: follow the registry, then publish the snapshot (view and metrics)."""
    client = shared_client()
    generator.target = find_target(client)
    view = generator.snapshot()
    client.set(traffic_keys.VIEW, json.dumps(view), px=VIEW_TTL_MS)
    return running.metrics(
        connections=view["in_flight"] + view["ws_open"],
        rps=round(view["sent"] / view["window_s"], 2),
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
