from django.apps import AppConfig


class OverloadConfig(AppConfig):
    """Minimal (the overload clients' branch): the page's branch brings the full one."""

    name = "archviz.overload"
    label = "overload"
    verbose_name = "Overload demo"

    def ready(self) -> None:
        from archviz.core import hooks
        from archviz.overload import clients

        clients.register()
        hooks.register_service(hooks.Service("overloadclients", "overloadclients"))
