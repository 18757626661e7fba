"""`manage.py dashboard`: daphne serving the dashboard (the lab starts it)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from archviz.lab.child import die_with_parent
from archviz.lab.heartbeat import Heartbeat
from archviz.lab.registry import Metrics, Registration, now_ms
from archviz.lab.serve import serve
from archviz.node.runtime import rss_bytes
from archviz.trace import emitter


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Serve the dashboard (pages, admin, /api/, WebSockets) under daphne."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.ARCHVIZ_DASHBOARD_PORT)
        parser.add_argument("--host", default=settings.ARCHVIZ_HOST)
        parser.add_argument("--id", default="", help="registry id (default dashboard-PORT)")

    def handle(self, *args, port: int, host: str, id: str, **options) -> None:
        die_with_parent()
        trace = emitter.configure("dashboard")
        component_id = id or f"dashboard-{port}"
        registration = Registration(component_id, "dashboard", os.getpid(), host, port, now_ms())
        heartbeat = Heartbeat(
            registration,
            lambda: Metrics(id=registration.id, ts=now_ms(), rss_bytes=rss_bytes()),
        )
        from archviz.asgi import application

        try:
            serve(application, host, port, setting="ARCHVIZ_DASHBOARD_PORT",
                  on_listening=heartbeat.start)  # fmt: skip
        finally:
            heartbeat.stop()
            trace.close()
