from django.apps import AppConfig


class NodeConfig(AppConfig):
    name = "archviz.node"
    label = "node"
    verbose_name = "Worker nodes"

    def ready(self) -> None:
        from archviz.node import control

        control.register()
