from django.apps import AppConfig


class OverloadConfig(AppConfig):
    name = "archviz.overload"
    label = "overload"
    verbose_name = "Overload demo"

    def ready(self) -> None:
        from archviz.core import hooks, labsocket
        from archviz.overload import control

        labsocket.handlers_in("archviz.overload.socket")
        # the node's faults (node.hog, ...) it sends are archviz/core/node_commands.py's
        control.register()
        hooks.register_service(hooks.Service("overloadclients", "overloadclients"))
