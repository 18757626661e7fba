"""Desired state: the gateway demo's processes the admin wants to run, reconciled like the
nodes (the rules a row keeps to are in processes.py)."""

import logging

from django.core.exceptions import ValidationError
from django.core.management import get_commands
from django.db import models

from archviz.core.names import child_name
from archviz.gateway.processes import (
    KINDS,
    ProcessSpec,
    cap_problem,
    name_problem,
    runnable,
    spec_for,
    within_caps,
)

log = logging.getLogger(__name__)

KIND_CHOICES = [(kind.command, kind.label) for kind in KINDS.values()]


class GatewayProcess(models.Model):
    """One process of the API gateway demo: a gateway replica, a service, or the bots."""

    name = models.CharField(
        max_length=40,
        unique=True,
        validators=[child_name],
        help_text="Its id everywhere in the lab, starting with its kind: gateway-3, catalog-2,"
        " auctionbots. Renaming restarts it under the new name.",
    )
    kind = models.CharField(
        max_length=20,
        choices=KIND_CHOICES,
        help_text="What it runs: manage.py <kind> --id <name>, on a free port of its own (the"
        " bots listen on none).",
    )
    enabled = models.BooleanField(
        default=True,
        help_text="Unticked: the process is stopped gracefully (SIGTERM). At most 4 of a kind"
        " run at once (2 auth services, 1 bots process).",
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = "gateway demo process"
        verbose_name_plural = "gateway demo processes"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The name fits the kind, and an enabled row stays within its kind's cap."""
        if why := name_problem(self.kind, self.name):
            raise ValidationError({"name": why})
        if self.enabled and self.kind in KINDS:
            others = GatewayProcess.objects.filter(kind=self.kind, enabled=True)
            if why := cap_problem(self.kind, others.exclude(pk=self.pk).count()):
                raise ValidationError({"enabled": why})

    def spec(self) -> ProcessSpec:
        return spec_for(self.kind, self.name)


_missing_logged: set[str] = set()


def desired_processes() -> list[ProcessSpec]:
    """The enabled processes whose command exists, for the supervisor to reconcile; a kind
    whose command this checkout lacks is left out, with a warning once per process."""
    rows = GatewayProcess.objects.filter(enabled=True, kind__in=KINDS)
    specs, missing = runnable(within_caps(row.spec() for row in rows), get_commands())
    for kind in set(missing) - _missing_logged:
        _missing_logged.add(kind)
        log.warning("gateway demo: no `manage.py %s` command here; its processes are skipped", kind)
    return specs
