from django.apps import AppConfig


class QueueConfig(AppConfig):
    name = "archviz.queue"
    label = "queue"
    verbose_name = "Message queue demo"

    def ready(self) -> None:
        from archviz.core import hooks, labsocket
        from archviz.queue import control, supervision
        from archviz.queue.models import desired_consumers
        from archviz.queue.producer import QueueProducer

        labsocket.handlers_in("archviz.queue.socket")
        control.register()
        hooks.register_children(desired_consumers)
        hooks.register_supervisor_commands("queue.", supervision.carry_out)
        hooks.register_arrival_sink(QueueProducer)
