from django.apps import AppConfig


class OverloadConfig(AppConfig):
    name = "archviz.overload"
    label = "overload"
    verbose_name = "Overload demo"

    def ready(self) -> None:
        from archviz.core import hooks
        from archviz.overload import clients, control, socket  # noqa: F401  (socket: handlers)

        clients.register()
        control.register()
        hooks.register_service(hooks.Service("overloadclients", "overloadclients"))
