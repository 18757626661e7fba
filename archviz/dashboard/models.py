"""Desired state: the nodes the admin wants to run. The supervisor reconciles processes to it."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from archviz.core.names import child_name
from archviz.node.spec import NodeSpec

ADMISSION_CHOICES = [
    ("none", "none: the limiter off (an unbounded queue)"),
    ("fixed", "fixed limit + bounded queue"),
    ("codel", "CoDel queue timeout, adaptive LIFO"),
    ("aimd", "AIMD limit"),
    ("gradient", "gradient limit"),
]
SHED_CHOICES = [
    ("priority", "lowest priority first"),
    ("newest", "newest first"),
    ("oldest", "oldest first"),
    ("random", "random"),
]


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
    ws_limit = models.PositiveIntegerField(
        "WebSocket limit",
        default=500,
        validators=[MinValueValidator(1), MaxValueValidator(20_000)],
        help_text="Open WebSockets it holds at most; past it, new ones are refused. Applied live.",
    )
    reject_above = models.PositiveIntegerField(
        "reject above (% pressure)",
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Above this pressure it refuses new WebSockets and new HTTP work "
        "(100: never). Applied live.",
    )
    shed_above = models.PositiveIntegerField(
        "shed above (% pressure)",
        default=95,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Above this pressure for half a second it disconnects clients in batches "
        "(100: never); at least the reject threshold. Applied live.",
    )
    admission = models.CharField(
        "HTTP admission policy",
        max_length=10,
        choices=ADMISSION_CHOICES,
        default="fixed",
        help_text="Who starts, waits or is refused when requests exceed capacity. Applied live.",
    )
    shed_policy = models.CharField(
        "shedding policy",
        max_length=10,
        choices=SHED_CHOICES,
        default="priority",
        help_text="Which clients go first when it sheds (never an instructor). Applied live.",
    )
    enabled = models.BooleanField(
        default=True, help_text="Unticked: the node is stopped gracefully (SIGTERM)."
    )

    class Meta:
        ordering = ["name"]
        permissions = [("control_lab", "Can control the lab (kill, stop, restart nodes)")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.shed_above < self.reject_above:
            raise ValidationError(
                {"shed_above": f"must be at least the reject threshold ({self.reject_above} %)"}
            )

    def spec(self) -> NodeSpec:
        return NodeSpec(
            name=self.name,
            weight=self.weight,
            capacity=self.capacity,
            latency_ms=self.latency_ms,
            jitter_ms=self.jitter_ms,
            ws_limit=self.ws_limit,
            reject_above=self.reject_above,
            shed_above=self.shed_above,
            admission=self.admission,
            shed_policy=self.shed_policy,
        )


def desired_nodes() -> list[NodeSpec]:
    """The enabled nodes, for the supervisor to reconcile."""
    return [node.spec() for node in Node.objects.filter(enabled=True)]
