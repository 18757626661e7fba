"""`manage.py node`: one worker node, daphne serving the node app (the lab starts these)."""

import asyncio
import logging
import os
from functools import partial

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from archviz.core import hooks, keys
from archviz.core.control import NODE_ID, listen_for_commands
from archviz.core.node_commands import NODE_FAULT_COMMANDS
from archviz.core.origins import registered_dashboard_origins
from archviz.core.redis_conn import shared_client
from archviz.core.runner import component
from archviz.node import control
from archviz.node.asgi import build_application
from archviz.node.reporter import PressureReporter
from archviz.node.runtime import NodeConfig, NodeRuntime, set_runtime

log = logging.getLogger(__name__)


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Run one worker node on the given port; it registers itself in Redis."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", required=True, help="the node's id, e.g. node-1")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default=settings.ARCHVIZ_HOST)

    def handle(self, *args, id: str, port: int, host: str, **options) -> None:
        # The id names Redis keys, registry entries and trace events, and the dashboard
        # refuses to ping any other shape: a bad one is refused here, before anything.
        if not NODE_ID.fullmatch(id):
            raise CommandError(
                f"bad --id {id[:60]!r}: 1-40 lower-case letters, digits or -, "
                "starting with a letter or digit (e.g. node-1)"
            )
        with component(id, "node") as running:
            runtime = NodeRuntime(id, running.counters)
            set_runtime(runtime)
            # what the apps' demos need in a node (the session mode, the chat layers)
            on_beats = [on_beat for start in hooks.node_starts() if (on_beat := start(id))]

            def on_beat(client: redis.Redis) -> None:
                _read_config(runtime, client)
                for app_beat in on_beats:
                    app_beat(client)

            _read_config(runtime, shared_client())  # a browser's first handshake needs the origins
            runtime.faults.on_end = partial(control.fault_ended, runtime)
            reporter = PressureReporter(runtime).start()
            listener: list[asyncio.Task] = []  # held: the loop keeps only a weak reference

            def on_ready() -> None:
                runtime.start_sampling()
                listener.append(asyncio.get_event_loop().create_task(_listen(runtime)))

            try:
                running.serve(
                    build_application(runtime.counters, lambda: runtime.dashboard_origins),
                    host=host,
                    port=port,
                    setting="ARCHVIZ_NODE_PORT",
                    collect=runtime.metrics,
                    on_ready=on_ready,
                    on_beat=on_beat,
                    on_first_beat=lambda: running.trace.emit(
                        "node.up", "redis", detail={"pid": os.getpid(), "port": port}
                    ),
                )
            finally:
                runtime.faults.stop()
                reporter.stop()


async def _listen(runtime: NodeRuntime) -> None:
    """The instructor's faults and sheds for this node, on the loop that serves (shedding
    closes its sockets there); only these exact types: the supervisor has "node." ones too."""
    await listen_for_commands(
        runtime.node_id, NODE_FAULT_COMMANDS, partial(control.carry_out, runtime)
    )


def _read_config(runtime: NodeRuntime, client: redis.Redis) -> None:
    """The admin's parameters, applied live (a bad value keeps the last good config), and the
    dashboards' origins."""
    runtime.dashboard_origins = registered_dashboard_origins(client)
    raw = client.hgetall(keys.node_config(runtime.node_id))
    try:
        if raw:
            runtime.apply_config(NodeConfig.from_hash(raw))
    except ValueError as bad:
        log.warning("%s: kept the last good config: %s", runtime.node_id, bad)
