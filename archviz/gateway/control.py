"""The gateway demo's control commands: how many bidding bots run (`manage.py auctionbots`)."""

from typing import Literal, TypedDict

from archviz.core.control import InvalidCommand, register_commands

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


def register() -> None:
    register_commands(("gateway.bots",), _bots_fields, carried_out_by="auction bots")
