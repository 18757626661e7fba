"""The balancer's control command: which listener's algorithm it switches."""

import json

import pytest

from archviz.core.control import InvalidCommand, parse_command


def _parsed(**fields: object) -> dict:
    return dict(parse_command(json.dumps({"type": "lb.algorithm", "by": "t", **fields})))


def test_a_command_naming_no_listener_is_for_the_nodes() -> None:
    """The LB page and the sessions demo name none: the nodes' listener is meant."""
    assert _parsed(algorithm="random")["listener"] == "nodes"


@pytest.mark.parametrize("listener", ["gateway", "services"])
def test_a_command_may_name_the_gateway_or_the_services_listener(listener: str) -> None:
    """listener "gateway" (or "services") is kept as given, with the algorithm."""
    parsed = _parsed(algorithm="least_connections", listener=listener)
    assert (parsed["algorithm"], parsed["listener"]) == ("least_connections", listener)


@pytest.mark.parametrize("listener", ["gateways", "", 1, None])
def test_an_unknown_listener_is_refused_naming_the_known_ones(listener: object) -> None:
    """Anything but nodes, gateway or services is refused, and the error lists them."""
    with pytest.raises(InvalidCommand, match=r"unknown listener .*use one of nodes, gateway, serv"):
        _parsed(algorithm="random", listener=listener)
