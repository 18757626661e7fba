from django.apps import AppConfig


class NodeConfig(AppConfig):
    name = "archviz.node"
    label = "node"
    verbose_name = "Worker nodes"

    def ready(self) -> None:
        from archviz.core import node_commands

        node_commands.register()  # the node carries them out (node/control.py)
