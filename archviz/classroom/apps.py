from django.apps import AppConfig


class ClassroomConfig(AppConfig):
    name = "archviz.classroom"
    label = "classroom"
    verbose_name = "Classroom"

    def ready(self) -> None:
        from archviz.classroom import keys
        from archviz.core import hooks, labsocket

        labsocket.handlers_in("archviz.classroom.socket")
        hooks.register_feed_channel(keys.CHANNEL)
