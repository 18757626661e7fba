"""Desired state: the queue consumers the admin wants to run, reconciled like the nodes."""

from django.core.validators import MaxValueValidator
from django.db import models

from archviz.core.names import child_name
from archviz.queue.spec import ConsumerSpec


class Consumer(models.Model):
    """A queue consumer process: it reads jobs from the stream, works, acknowledges."""

    name = models.CharField(
        max_length=40,
        unique=True,
        validators=[child_name],
        help_text="Its id everywhere in the lab, e.g. consumer-3 (not a node's name).",
    )
    work_ms = models.PositiveIntegerField(
        "work per job (ms)",
        default=0,
        validators=[MaxValueValidator(2_000)],
        help_text="Time it spends on every job, on top of what the job asks. Applied live.",
    )
    enabled = models.BooleanField(
        default=True, help_text="Unticked: the consumer is stopped gracefully (SIGTERM)."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def spec(self) -> ConsumerSpec:
        return ConsumerSpec(name=self.name, work_ms=self.work_ms)


def desired_consumers() -> list[ConsumerSpec]:
    """The enabled consumers, for the supervisor to reconcile."""
    return [consumer.spec() for consumer in Consumer.objects.filter(enabled=True)]
