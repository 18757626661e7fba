"""The gateway demo's processes as the supervisor runs them: kinds, name and cap rules, specs."""

import importlib

import pytest

from archviz.gateway.processes import (
    KINDS,
    ProcessSpec,
    cap_problem,
    name_problem,
    runnable,
    spec_for,
    within_caps,
)

defaults = importlib.import_module("archviz.gateway.migrations.0002_default_processes")


def test_the_first_migration_makes_each_kinds_default_rows() -> None:
    """Two gateways, one auth, two catalogs, two biddings, the bots: what KINDS says."""
    expected = [(kind, name) for kind in KINDS.values() for name in kind.default_names()]
    assert sorted(defaults.DEFAULT_PROCESSES) == sorted((k.command, n) for k, n in expected)
    assert [n for _, n in defaults.DEFAULT_PROCESSES] == [
        "gateway-1", "gateway-2", "auth-1", "catalog-1", "catalog-2", "bidding-1", "bidding-2",
        "auctionbots",
    ]  # fmt: skip


def test_every_kind_but_the_bots_listens_on_a_free_port_of_its_own() -> None:
    """A spec needs a port unless it is the bots', never a node's numbered one, and applies
    nothing live."""
    for kind in KINDS:
        spec = spec_for(kind, kind)
        assert spec.needs_port is (kind != "auctionbots")
        assert spec.any_free_port is True
        assert spec.runtime_params() == {}
    assert spec_for("catalog", "catalog-1") == ProcessSpec("catalog", "catalog-1", True)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("catalog", "catalog-3"), ("gateway", "gateway-12"), ("auctionbots", "auctionbots"),
     ("auth", "auth"), ("bidding", "bidding-eu")],
)  # fmt: skip
def test_a_name_that_starts_with_its_kind_is_accepted(kind: str, name: str) -> None:
    """The kind itself, or the kind and a dash and anything."""
    assert name_problem(kind, name) == ""


@pytest.mark.parametrize(
    ("kind", "name", "example"),
    [("catalog", "node-4", "catalog-1, catalog-2, …"), ("gateway", "gateways-1", "gateway-1"),
     ("bidding", "catalog-1", "bidding-1"), ("auctionbots", "bots", "auctionbots")],
)  # fmt: skip
def test_a_name_that_does_not_start_with_its_kind_is_refused_with_an_example(
    kind: str, name: str, example: str
) -> None:
    """The error names the kind and shows names that would do."""
    why = name_problem(kind, name)
    assert f"name starts with its kind, {kind!r}" in why
    assert example in why


def test_the_cap_is_per_kind_and_says_how_many_are_enabled() -> None:
    """One more than the kind's cap is refused, naming the cap; up to it, accepted."""
    assert cap_problem("catalog", 3) == ""
    assert "At most 4 catalog replicas may be enabled at once" in cap_problem("catalog", 4)
    assert "4 already are: disable one first" in cap_problem("catalog", 4)
    assert cap_problem("auth", 1) == ""
    assert "At most 2 auth services" in cap_problem("auth", 2)
    assert "At most 1 bidding bots may" in cap_problem("auctionbots", 1)


def test_within_caps_keeps_the_first_of_each_kind_by_name() -> None:
    """Over a cap (a bulk edit), the lab runs the first names and leaves the rest."""
    specs = [spec_for("catalog", f"catalog-{n}") for n in (6, 1, 5, 2, 4, 3)]
    specs += [spec_for("auctionbots", "auctionbots-2"), spec_for("auctionbots", "auctionbots")]
    kept = within_caps(specs)
    assert [s.name for s in kept] == [
        "auctionbots", "catalog-1", "catalog-2", "catalog-3", "catalog-4",
    ]  # fmt: skip


def test_runnable_leaves_out_the_kinds_whose_command_is_missing() -> None:
    """Only specs of known commands run; the missing kinds are named once each, sorted."""
    specs = [spec_for(k, f"{k}-1") for k in ("gateway", "catalog", "gateway", "auth")]
    kept, missing = runnable(specs, {"catalog", "bidding"})
    assert [s.name for s in kept] == ["catalog-1"]
    assert missing == ["auth", "gateway"]
