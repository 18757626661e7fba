from django.apps import AppConfig


class TrafficConfig(AppConfig):
    name = "archviz.traffic"
    label = "traffic"
    verbose_name = "Traffic generator"

    def ready(self) -> None:
        from archviz.core import hooks
        from archviz.traffic import control, socket  # noqa: F401  (socket: its handler)

        control.register()
        hooks.register_page_config(control.page_config)
        hooks.register_service(hooks.Service("traffic", "traffic"))
