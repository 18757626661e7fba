from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "archviz.lab"
    label = "lab"
    verbose_name = "Lab runtime"

    def ready(self) -> None:
        from archviz.lab import control

        control.register()
