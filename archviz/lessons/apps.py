from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "archviz.lessons"
    label = "lessons"
    verbose_name = "Lessons"

    def ready(self) -> None:
        from archviz.lessons import checks  # noqa: F401  (registers the system check)
