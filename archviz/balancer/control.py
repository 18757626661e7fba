"""The load balancer's control command: switch one listener's algorithm, live."""

from typing import Literal, TypedDict

from archviz.balancer.algorithms import NAMES as ALGORITHM_NAMES
from archviz.core.control import InvalidCommand, register_commands, validate_choice

# The balancer's listeners (archviz/balancer/frontend.py): the nodes', the gateway
# replicas' and the catalog replicas'. A command that names none is for the nodes' (the LB
# page and the sessions demo).
LISTENERS = ("nodes", "gateway", "services")


class AlgorithmCommand(TypedDict):
    type: Literal["lb.algorithm"]
    algorithm: str
    listener: str  # one of LISTENERS
    by: str
    trace: str


def _fields(obj: dict) -> dict:
    name = obj.get("algorithm")
    if name not in ALGORITHM_NAMES:
        raise InvalidCommand(f"unknown algorithm {name!r}; use one of {', '.join(ALGORITHM_NAMES)}")
    listener = validate_choice("listener", obj.get("listener", "nodes"), LISTENERS)
    return {"algorithm": name, "listener": listener}


def register() -> None:
    register_commands(("lb.algorithm",), _fields, carried_out_by="lb")
