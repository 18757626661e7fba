"""The gateway demo's control commands: how many bidding bots run (`manage.py auctionbots`),
and an instructor's live rate-limit policy (the gateway replicas, edge/policies.py)."""

from typing import Literal, TypedDict

from archviz.core.control import InvalidCommand, register_commands
from archviz.gateway import limits

MAX_AUCTION_BOTS = 20


class GatewayBotsCommand(TypedDict):
    type: Literal["gateway.bots"]
    count: int  # bidding bots to keep running (0 stops them all)
    by: str
    trace: str


def _bots_fields(obj: dict) -> dict:
    count = obj.get("count")
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidCommand("count must be a whole number")
    if not 0 <= count <= MAX_AUCTION_BOTS:
        raise InvalidCommand(f"count must be from 0 to {MAX_AUCTION_BOTS}")
    return {"count": count}


class GatewayLimitCommand(TypedDict):
    """Put one class of routes under `rate` a second, `burst` at once, on every replica; or,
    with `reset`, restore its default (every class's when `policy` is None)."""

    type: Literal["gateway.limit"]
    policy: str | None  # one of limits.POLICIES
    rate: float | None
    burst: int | None
    reset: bool
    by: str
    trace: str


def _limit_fields(obj: dict) -> dict:
    reset, policy = obj.get("reset", False), obj.get("policy")
    if not isinstance(reset, bool):
        raise InvalidCommand("reset must be true or false")
    if reset:
        if policy is not None and policy not in limits.POLICIES:
            raise InvalidCommand(
                f"unknown policy {policy!r}; use one of {', '.join(limits.POLICIES)}"
            )
        return {"policy": policy, "rate": None, "burst": None, "reset": True}
    try:
        checked = limits.override(policy, obj.get("rate"), obj.get("burst"))
    except limits.InvalidPolicy as exc:
        raise InvalidCommand(str(exc)) from None
    return {"policy": checked.name, "rate": checked.rate, "burst": checked.burst, "reset": False}


def register() -> None:
    register_commands(("gateway.bots",), _bots_fields, carried_out_by="auction bots")
    register_commands(("gateway.limit",), _limit_fields, carried_out_by="gateway replicas")
