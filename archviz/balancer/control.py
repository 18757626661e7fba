"""The load balancer's control command: switch the algorithm, live."""

from typing import Literal, TypedDict

from archviz.balancer.algorithms import NAMES as ALGORITHM_NAMES
from archviz.core.control import InvalidCommand, register_commands


class AlgorithmCommand(TypedDict):
    type: Literal["lb.algorithm"]
    algorithm: str
    by: str
    trace: str


def _fields(obj: dict) -> dict:
    name = obj.get("algorithm")
    if name not in ALGORITHM_NAMES:
        raise InvalidCommand(f"unknown algorithm {name!r}; use one of {', '.join(ALGORITHM_NAMES)}")
    return {"algorithm": name}


def register() -> None:
    register_commands(("lb.algorithm",), _fields, carried_out_by="lb")
