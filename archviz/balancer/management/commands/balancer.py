"""`manage.py balancer`: the load balancer, a reverse proxy over the registered nodes."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from archviz.balancer.app import CannotListen, LoadBalancer, run, stored_algorithm
from archviz.core.ports import require_free
from archviz.core.redis_conn import shared_client
from archviz.core.runner import component


def seconds(text: str) -> float:
    """A positive number of seconds (argparse names it in its error: "invalid seconds value")."""
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Run the load balancer: HTTP and WebSockets to the nodes in the registry."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.ARCHVIZ_LB_PORT)
        parser.add_argument("--host", default=settings.ARCHVIZ_HOST)
        parser.add_argument("--id", default="lb", help="registry id (default lb)")
        parser.add_argument(
            "--backend-timeout",
            type=seconds,
            default=10.0,
            help="seconds a node may take to answer before the client gets 504 (default 10)",
        )
        parser.add_argument(
            "--idle-timeout",
            type=seconds,
            default=settings.ARCHVIZ_LB_IDLE_TIMEOUT_S,
            help="seconds before a client's idle keep-alive connection is closed"
            " (default ARCHVIZ_LB_IDLE_TIMEOUT, 15)",
        )
        parser.add_argument(
            "--max-connections",
            type=int,
            default=settings.ARCHVIZ_LB_MAX_CONNECTIONS,
            help="client connections open at once before new ones get 503"
            " (default ARCHVIZ_LB_MAX_CONNECTIONS, 1000)",
        )

    def handle(
        self,
        *args,
        port: int,
        host: str,
        id: str,
        backend_timeout: float,
        idle_timeout: float,
        max_connections: int,
        **options,
    ):
        require_free(host, port, "ARCHVIZ_LB_PORT")
        with component(id, "balancer") as running:
            client = shared_client()
            balancer = LoadBalancer(
                id,
                client,
                running.trace,
                algorithm=stored_algorithm(client),
                backend_timeout_s=backend_timeout,
                keepalive_timeout_s=idle_timeout,
                max_connections=max_connections,
            )

            def listening(bound_port: int) -> None:
                running.beat(balancer.collect, port=bound_port, host=host)

            try:
                run(balancer.serve(host, port, listening))
            except CannotListen as exc:
                raise CommandError(f"load balancer: {exc} (set ARCHVIZ_LB_PORT)") from None
