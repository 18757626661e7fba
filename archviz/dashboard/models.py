"""Desired state: what the admin wants to run. The supervisor reconciles processes to it."""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from archviz.lab.reconcile import ConsumerSpec, NodeSpec

node_name = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,39}$",
    "Lower-case letters, digits and dashes, starting with a letter or digit (max 40).",
)


class Node(models.Model):
    name = models.CharField(
        max_length=40,
        unique=True,
        validators=[node_name],
        help_text="Its id everywhere in the lab, e.g. node-4. Renaming restarts the node.",
    )
    weight = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Share of traffic under weighted load balancing. Applied live.",
    )
    capacity = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Requests it works on at once; more wait in a queue. Applied live.",
    )
    latency_ms = models.PositiveIntegerField(
        "added latency (ms)",
        default=0,
        validators=[MaxValueValidator(10_000)],
        help_text="Delay added to every request, to make a slow node. Applied live.",
    )
    jitter_ms = models.PositiveIntegerField(
        "latency jitter (ms)",
        default=0,
        validators=[MaxValueValidator(10_000)],
        help_text="Up to this much more delay, at random, per request. Applied live.",
    )
    enabled = models.BooleanField(
        default=True, help_text="Unticked: the node is stopped gracefully (SIGTERM)."
    )

    class Meta:
        ordering = ["name"]
        permissions = [("control_lab", "Can control the lab (kill, stop, restart nodes)")]

    def __str__(self) -> str:
        return self.name

    def spec(self) -> NodeSpec:
        return NodeSpec(
            name=self.name,
            weight=self.weight,
            capacity=self.capacity,
            latency_ms=self.latency_ms,
            jitter_ms=self.jitter_ms,
        )


class Consumer(models.Model):
    """A queue consumer process: it reads jobs from the stream, works, acknowledges."""

    name = models.CharField(
        max_length=40,
        unique=True,
        validators=[node_name],
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
