from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "archviz.dashboard"
    label = "dashboard"
    verbose_name = "Lab configuration"

    def ready(self) -> None:
        from archviz.core import hooks
        from archviz.dashboard import socket  # noqa: F401  (registers its handlers)
        from archviz.dashboard.models import desired_nodes

        hooks.register_children(desired_nodes)
