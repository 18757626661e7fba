from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "archviz.gateway"
    label = "gateway"
    verbose_name = "API gateway demo"

    def ready(self) -> None:
        from archviz.core import hooks, labsocket
        from archviz.gateway import control
        from archviz.gateway.models import desired_processes

        labsocket.handlers_in("archviz.gateway.socket")
        control.register()

        # The demo's processes (gateway replicas, auth, catalog, bidding, bots), run by the
        # supervisor like the nodes and reconciled to the admin's rows.
        hooks.register_children(desired_processes)
