from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "archviz.lessons"
    label = "lessons"
    verbose_name = "Lessons"

    def ready(self) -> None:
        from archviz.core import hooks
        from archviz.lessons import checks  # noqa: F401  (registers the system check)
        from archviz.lessons.catalogue import startup_line

        hooks.register_startup_line(startup_line)
