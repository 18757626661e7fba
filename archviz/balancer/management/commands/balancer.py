"""`manage.py balancer`: the load balancer, a reverse proxy over the registered nodes, with a
second listener over the registered gateway replicas and a third over the catalog replicas."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from archviz.balancer import keys as balancer_keys
from archviz.balancer.app import CannotListen, LoadBalancer, run, stored_algorithm
from archviz.core.ports import free_port, require_free
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
    help = (
        "Run the load balancer: HTTP and WebSockets to the nodes in the registry, and on a"
        " second port to the gateway replicas, on a third to the catalog replicas."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.ARCHVIZ_LB_PORT)
        parser.add_argument(
            "--gateway-port",
            type=int,
            default=settings.ARCHVIZ_GATEWAY_PORT,
            help="the gateway replicas' listener (default ARCHVIZ_GATEWAY_PORT, 8200;"
            " 0: a free one, published in the metrics)",
        )
        parser.add_argument(
            "--services-port",
            type=int,
            default=settings.ARCHVIZ_SERVICES_PORT,
            help="the catalog replicas' listener, bypassing the gateway (default"
            " ARCHVIZ_SERVICES_PORT, 0: a free one, published in the metrics)",
        )
        parser.add_argument(
            "--dashboards-port",
            type=int,
            default=None,
            help="a listener over the registered dashboards, for a class's several (the lab"
            " gives it ARCHVIZ_DASHBOARD_PORT when ARCHVIZ_DASHBOARDS > 1; default: none)",
        )
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
        gateway_port: int,
        services_port: int,
        dashboards_port: int | None,
        host: str,
        id: str,
        backend_timeout: float,
        idle_timeout: float,
        max_connections: int,
        **options,
    ):
        gateway_port, services_port = _ports(host, port, gateway_port, services_port)
        if dashboards_port is not None:
            if dashboards_port in (port, gateway_port, services_port):
                raise CommandError(
                    f"the dashboards' listener cannot share port {dashboards_port} with another"
                )
            require_free(host, dashboards_port, "ARCHVIZ_DASHBOARD_PORT")
        with component(id, "balancer") as running:
            client = shared_client()
            balancer = LoadBalancer(
                id,
                client,
                running.trace,
                algorithm=stored_algorithm(client),
                gateway_algorithm=stored_algorithm(client, balancer_keys.GATEWAY_ALGORITHM),
                services_algorithm=stored_algorithm(client, balancer_keys.SERVICES_ALGORITHM),
                backend_timeout_s=backend_timeout,
                keepalive_timeout_s=idle_timeout,
                max_connections=max_connections,
                dashboards=dashboards_port is not None,
            )

            def listening(bound_port: int) -> None:
                running.beat(balancer.collect, port=bound_port, host=host)

            try:
                run(
                    balancer.serve(
                        host,
                        port,
                        listening,
                        gateway_port=gateway_port,
                        services_port=services_port,
                        dashboards_port=dashboards_port or 0,
                    )
                )
            except CannotListen as exc:  # it names the setting
                raise CommandError(f"load balancer: {exc}") from None


def _ports(host: str, port: int, gateway_port: int, services_port: int) -> tuple[int, int]:
    """Check every port before anything starts; 0 for the gateway's or the services': a free
    one, picked as the supervisor picks them (below the kernel's ephemeral range)."""
    require_free(host, port, "ARCHVIZ_LB_PORT")
    taken = {port: "ARCHVIZ_LB_PORT"}
    chosen = []
    for wanted, setting in (
        (gateway_port, "ARCHVIZ_GATEWAY_PORT"),
        (services_port, "ARCHVIZ_SERVICES_PORT"),
    ):
        if wanted == 0:
            wanted = _free_port_but(host, taken)
        elif wanted in taken:
            raise CommandError(
                f"{setting} and {taken[wanted]} are both {wanted}: each listener needs a port"
                " of its own (0 picks a free one)."
            )
        else:
            require_free(host, wanted, setting)
        taken[wanted] = setting
        chosen.append(wanted)
    return chosen[0], chosen[1]


def _free_port_but(host: str, taken: dict[int, str]) -> int:
    """A free port that no other listener is about to take (they are not bound yet)."""
    while (found := free_port(host)) in taken:
        pass
    return found
