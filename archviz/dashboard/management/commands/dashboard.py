"""`manage.py dashboard`: daphne serving the dashboard (the lab starts it)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from archviz.core.registry import Metrics
from archviz.core.runner import component


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Serve the dashboard (pages, admin, /api/, WebSockets) under daphne."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.ARCHVIZ_DASHBOARD_PORT)
        parser.add_argument("--host", default=settings.ARCHVIZ_HOST)
        parser.add_argument("--id", default="", help="registry id (default dashboard-PORT)")

    def handle(self, *args, port: int, host: str, id: str, **options) -> None:
        with component(id or f"dashboard-{port}", "dashboard", trace_as="dashboard") as running:
            from archviz.asgi import application
            from archviz.dashboard.feed import feed

            def collect() -> Metrics:
                """Its open lab sockets, and those it closed for being too far behind."""
                extra = {"too_slow_closes": feed.too_slow_closes}
                return running.metrics(connections=feed.open_sockets, extra=extra)

            running.serve(application, host=host, port=port, setting="ARCHVIZ_DASHBOARD_PORT",
                          collect=collect)  # fmt: skip
