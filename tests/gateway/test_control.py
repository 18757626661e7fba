"""The gateway's control commands as the envelope parses them: gateway.limit."""

import json

import pytest

from archviz.core.control import InvalidCommand, carried_out_by, parse_command
from archviz.gateway import control


@pytest.fixture(autouse=True)
def _registered() -> None:
    """gateway.limit is known, as the gateway app's ready() will make it."""
    control.register()


def parsed(**fields: object) -> dict:
    return dict(parse_command(json.dumps({"type": "gateway.limit", "by": "ingrid"} | fields)))


def test_gateway_limit_takes_a_policy_a_rate_and_a_burst() -> None:
    assert parsed(policy="bid", rate=0.5, burst=2) == {
        "type": "gateway.limit", "by": "ingrid", "trace": "",
        "policy": "bid", "rate": 0.5, "burst": 2, "reset": False,
    }  # fmt: skip
    assert carried_out_by("gateway.limit") == "gateway replicas"


@pytest.mark.parametrize("policy", ["read", None])
def test_gateway_limit_reset_restores_one_policy_or_all(policy: str | None) -> None:
    command = parsed(reset=True, **({"policy": policy} if policy else {}))
    assert (command["reset"], command["policy"], command["rate"]) == (True, policy, None)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"policy": "nope", "rate": 1, "burst": 1}, "unknown policy"),
        ({"policy": "bid", "rate": -1, "burst": 1}, "rate must be from"),
        ({"policy": "bid", "rate": 1}, "burst must be a whole number"),
        ({"policy": "bid", "rate": 1, "burst": 10_000}, "burst must be from"),
        ({"reset": "yes"}, "reset must be true or false"),
        ({"reset": True, "policy": "nope"}, "unknown policy"),
    ],
)
def test_a_bad_gateway_limit_is_refused_naming_why(fields: dict, why: str) -> None:
    with pytest.raises(InvalidCommand, match=why):
        parsed(**fields)
