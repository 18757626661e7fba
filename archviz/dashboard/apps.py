from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "archviz.dashboard"
    label = "dashboard"
    verbose_name = "Lab configuration"
