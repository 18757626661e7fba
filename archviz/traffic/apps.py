from django.apps import AppConfig


class TrafficConfig(AppConfig):
    name = "archviz.traffic"
    label = "traffic"
    verbose_name = "Traffic generator"

    def ready(self) -> None:
        from archviz.core import hooks, labsocket
        from archviz.traffic import control

        labsocket.handlers_in("archviz.traffic.socket")
        control.register()
        hooks.register_page_config(control.page_config)
        hooks.register_service(hooks.Service("traffic", "traffic"))
