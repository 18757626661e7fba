from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "archviz.gateway"
    label = "gateway"
    verbose_name = "API gateway demo"
