from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "archviz.lab"
    label = "lab"
    verbose_name = "Lab runtime"
