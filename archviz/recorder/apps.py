from django.apps import AppConfig


class RecorderConfig(AppConfig):
    name = "archviz.recorder"
    label = "recorder"
    verbose_name = "Flight recorder"

    def ready(self) -> None:
        from archviz.core import hooks, labsocket

        labsocket.handlers_in("archviz.recorder.socket")
        hooks.register_service(hooks.Service("recorder", "recorder"))
