"""`manage.py node`: one worker node, daphne serving the node app (the lab starts these)."""

import logging
import os

from django.conf import settings
from django.core.management.base import BaseCommand

from archviz.lab import keys
from archviz.lab.child import die_with_parent
from archviz.lab.heartbeat import Heartbeat
from archviz.lab.registry import Registration, now_ms
from archviz.lab.serve import serve
from archviz.node.asgi import build_application
from archviz.node.runtime import NodeConfig, NodeRuntime, set_runtime
from archviz.sessions.follower import ModeFollower, set_follower
from archviz.trace import emitter


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Run one worker node on the given port; it registers itself in Redis."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", required=True, help="the node's id, e.g. node-1")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default=settings.ARCHVIZ_HOST)

    def handle(self, *args, id: str, port: int, host: str, **options) -> None:
        die_with_parent()
        runtime = NodeRuntime(id)
        set_runtime(runtime)
        trace = emitter.configure(id)
        registration = Registration(id, "node", os.getpid(), host, port, now_ms())
        sessions = ModeFollower(id)  # the sessions demo's mode, kept in Redis
        set_follower(sessions)

        def read_config(client) -> None:
            raw = client.hgetall(keys.node_config(id))
            try:
                runtime.config = NodeConfig.from_hash(raw) if raw else runtime.config
            except ValueError:  # a bad value keeps the last good config, and the heartbeat
                logging.getLogger(__name__).warning("%s: ignored bad config %r", id, raw)

        def on_beat(client) -> None:
            read_config(client)
            sessions.refresh(client)

        heartbeat = Heartbeat(
            registration,
            runtime.metrics,
            on_beat=on_beat,
            on_first_beat=lambda: trace.emit(
                "node.up", "redis", detail={"pid": os.getpid(), "port": port}
            ),
        )
        application = build_application(runtime.counters)
        sessions.listen()
        try:
            serve(application, host, port, setting="ARCHVIZ_NODE_PORT",
                  on_listening=heartbeat.start)  # fmt: skip
        finally:
            heartbeat.stop()
            trace.close()
