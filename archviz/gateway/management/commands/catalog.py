"""`manage.py catalog`: one replica of the catalog service (HTTP); the lab runs two."""

from functools import partial

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from archviz.core.ports import require_free
from archviz.core.runner import component
from archviz.gateway.catalog import serve
from archviz.gateway.serving import CannotListen


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Run one replica of the catalog service: the auctions and their items, as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", required=True, help="its id, e.g. catalog-1")
        parser.add_argument("--port", type=int, default=0, help="default 0: a free port")
        parser.add_argument("--host", default=settings.ARCHVIZ_HOST)

    def handle(self, *args, id: str, port: int, host: str, **options) -> None:
        if port:
            require_free(host, port, "--port")
        with component(id, "catalog") as running:
            try:
                running.run_async(partial(serve, host=host, port=port))
            except CannotListen as exc:
                raise CommandError(f"catalog service: {exc}") from None
