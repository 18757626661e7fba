"""Desired state: the nodes the admin wants to run. The supervisor reconciles processes to it."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from archviz.core.names import child_name
from archviz.node.spec import NodeSpec


class Node(models.Model):
    name = models.CharField(
        max_length=40,
        unique=True,
        validators=[child_name],
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


def desired_nodes() -> list[NodeSpec]:
    """The enabled nodes, for the supervisor to reconcile."""
    return [node.spec() for node in Node.objects.filter(enabled=True)]
