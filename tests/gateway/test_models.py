"""The gateway demo's processes in the admin: the migration's rows, the checks on a save, and
what the supervisor is asked to run."""

import logging

import pytest
from django.core.management import get_commands

from archviz.gateway import models
from archviz.gateway.models import GatewayProcess, desired_processes
from archviz.gateway.processes import KINDS

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/gateway/gatewayprocess/add/"


def _errors(response) -> dict[str, list[str]]:
    return {field: list(errors) for field, errors in response.context["adminform"].errors.items()}


def test_the_migration_makes_the_default_processes_enabled() -> None:
    """Two gateway replicas, the auth service, two catalog and two bidding replicas, the bots."""
    rows = {(p.kind, p.name, p.enabled) for p in GatewayProcess.objects.all()}
    assert rows == {
        ("gateway", "gateway-1", True), ("gateway", "gateway-2", True), ("auth", "auth-1", True),
        ("catalog", "catalog-1", True), ("catalog", "catalog-2", True),
        ("bidding", "bidding-1", True), ("bidding", "bidding-2", True),
        ("auctionbots", "auctionbots", True),
    }  # fmt: skip


def test_the_admin_adds_a_replica_named_for_its_kind(admin_client) -> None:
    """A third catalog replica is saved, enabled."""
    answer = admin_client.post(ADD_URL, {"name": "catalog-3", "kind": "catalog", "enabled": "on"})
    assert answer.status_code == 302, _errors(answer)
    assert GatewayProcess.objects.get(name="catalog-3").enabled


def test_the_admin_refuses_a_name_that_is_not_its_kinds(admin_client) -> None:
    """A catalog called node-9 is refused on its name field, with an example."""
    answer = admin_client.post(ADD_URL, {"name": "node-9", "kind": "catalog", "enabled": "on"})
    assert answer.status_code == 200
    (why,) = _errors(answer)["name"]
    assert "catalog replica's name starts with its kind, 'catalog': catalog-1" in why
    assert not GatewayProcess.objects.filter(name="node-9").exists()


def test_the_admin_refuses_a_name_that_is_no_childs_name(admin_client) -> None:
    """Upper case and spaces are refused by the lab's one pattern for names."""
    answer = admin_client.post(ADD_URL, {"name": "Catalog 3", "kind": "catalog"})
    assert "Lower-case letters, digits and dashes" in _errors(answer)["name"][0]


def test_the_admin_refuses_a_fifth_enabled_replica_of_a_kind(admin_client) -> None:
    """At most 4 of a kind enabled: the fifth is refused, a disabled fifth is saved."""
    for n in (3, 4):
        GatewayProcess.objects.create(kind="bidding", name=f"bidding-{n}")
    answer = admin_client.post(ADD_URL, {"name": "bidding-5", "kind": "bidding", "enabled": "on"})
    (why,) = _errors(answer)["enabled"]
    assert "At most 4 bidding replicas may be enabled at once" in why
    answer = admin_client.post(ADD_URL, {"name": "bidding-5", "kind": "bidding"})
    assert answer.status_code == 302
    assert not GatewayProcess.objects.get(name="bidding-5").enabled


def test_the_admin_refuses_a_second_bots_process(admin_client) -> None:
    """One process runs every bot: a second enabled one is refused."""
    answer = admin_client.post(
        ADD_URL, {"name": "auctionbots-2", "kind": "auctionbots", "enabled": "on"}
    )
    assert "At most 1 bidding bots may be enabled" in _errors(answer)["enabled"][0]


def test_desired_processes_are_the_enabled_rows_whose_command_exists(caplog, monkeypatch) -> None:
    """Disabled rows are left out; so are kinds this checkout has no command for, each
    logged once; the rest come as specs that need a port (the bots' excepted)."""
    monkeypatch.setattr(models, "_missing_logged", set())
    GatewayProcess.objects.filter(name="catalog-2").update(enabled=False)
    commands = get_commands()
    with caplog.at_level(logging.WARNING, logger="archviz.gateway.models"):
        specs = desired_processes()
        desired_processes()
    names = {spec.name for spec in specs}
    wanted = {p.name for p in GatewayProcess.objects.filter(enabled=True) if p.kind in commands}
    assert names == wanted and {"catalog-1", "bidding-1", "bidding-2"} <= names
    assert all(spec.needs_port is KINDS[spec.kind].needs_port for spec in specs)
    for kind in sorted(set(KINDS) - set(commands)):
        assert caplog.text.count(f"no `manage.py {kind}` command here") == 1
