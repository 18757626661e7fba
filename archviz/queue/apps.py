from django.apps import AppConfig


class QueueConfig(AppConfig):
    name = "archviz.queue"
    label = "queue"
    verbose_name = "Message queue demo"
