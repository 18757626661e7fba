"""The auctions in Redis: the demo's items, reading them, placing a bid, closing, and the
stream of updates a watcher reads "since seq N" after a reconnect.

An auction is a hash (keys.auction). Every change to it is one Lua step (auction_lua.py):
it compares, sets, numbers the update, keeps it in the auction's capped stream and
publishes it on the auction's channel, so concurrent bids from any number of processes
are ordered by Redis alone. Closed means past its end time: computed on every read, and
said once in the stream by the first step that sees it (a bid, or `close_due`).
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypedDict, cast

import redis
from redis.commands.core import Script

from archviz.gateway import auction_lua
from archviz.gateway import keys as gateway_keys
from archviz.gateway.bids import check_auction_id, check_bidder, check_cents, check_request_id

log = logging.getLogger(__name__)

UPDATES_KEPT = 1_000  # per auction's stream (about: MAXLEN ~); older ones are trimmed
REQUEST_KEPT_MS = 600_000  # a request id's accepted result, for retries
MAX_TITLE_CHARS = 100
MINUTE_MS = 60_000
DEMO_REST_MS = 2 * MINUTE_MS  # a demo auction shows its winner that long, then reopens

Outcome = Literal["accepted", "replayed", "unknown", "closed", "too_low"]


class AuctionUpdate(TypedDict):
    """One update of an auction, as published on its channel and kept in its stream."""

    type: Literal["opened", "bid", "closed"]
    auction: str
    seq: int
    amount_cents: int  # the highest bid after this update (0: none yet)
    bidder: str  # who made it; in "closed", the winner ("": nobody bid)
    ends_at_ms: int
    ts: int  # unix ms when Redis took it
    trace: str  # the bid's trace id ("" for the others)


@dataclass(frozen=True)
class Auction:
    """An auction as read from Redis; whether it is closed depends on the time you ask."""

    id: str
    title: str
    start_cents: int
    ends_at_ms: int
    highest_cents: int  # 0 until the first bid
    bidder: str
    seq: int
    closed_said: bool  # the "closed" update was sent

    def closed(self, now_ms: float) -> bool:
        return self.closed_said or now_ms >= self.ends_at_ms

    def winner(self, now_ms: float) -> str:
        """The highest bidder once closed; "" while open, or if nobody bid."""
        return self.bidder if self.closed(now_ms) else ""

    def view(self, now_ms: float) -> dict[str, Any]:
        """What the catalog answers about it (JSON)."""
        return {
            "id": self.id,
            "title": self.title,
            "start_cents": self.start_cents,
            "highest_cents": self.highest_cents,
            "highest_bidder": self.bidder,
            "seq": self.seq,
            "ends_at_ms": self.ends_at_ms,
            "closed": self.closed(now_ms),
            "winner": self.winner(now_ms),
        }


class BidResult(NamedTuple):
    """What Redis said to a bid: the outcome, and the auction's highest bid after it."""

    outcome: Outcome
    seq: int
    highest_cents: int
    bidder: str
    ends_at_ms: int
    start_cents: int  # the auction's starting price (0 when unknown)


class Since(NamedTuple):
    """The updates after a seq; `complete` is False when some are gone (trimmed, or Redis
    lost them): the watcher must then start again from the auction's current state."""

    updates: list[AuctionUpdate]
    complete: bool
    current_seq: int


@dataclass(frozen=True)
class DemoItem:
    id: str
    title: str
    start_cents: int
    minutes: int  # how long its auction runs once opened


DEMO_ITEMS = (
    DemoItem("lamp", "Bauhaus desk lamp", 4_000, 10),
    DemoItem("camera", "1970s rangefinder camera", 12_000, 15),
    DemoItem("bicycle", "Steel touring bicycle", 25_000, 20),
    DemoItem("map", "Framed map of the old harbour", 1_500, 30),
)

_scripts: dict[str, Script] = {}


def _script(client: redis.Redis, text: str) -> Script:
    """The script, loaded once and then run by its SHA (EVALSHA), not re-sent every call."""
    if text not in _scripts:
        _scripts[text] = client.register_script(text)
    return _scripts[text]


def _common(auction_id: str, now_ms: float) -> tuple[list[str], list[str | int]]:
    """The keys and arguments every auction script starts with (see auction_lua)."""
    keys_ = [gateway_keys.auction(auction_id), gateway_keys.auction_updates(auction_id)]
    return keys_, [auction_id, gateway_keys.auction_channel(auction_id), int(now_ms), UPDATES_KEPT]


# --- opening -----------------------------------------------------------------------------


def open_auction(
    client: redis.Redis,
    auction_id: str,
    title: str,
    start_cents: int,
    ends_at_ms: int,
    now_ms: float,
    *,
    keep_ending_after: int | None = None,
) -> int | None:
    """Open (or reopen, with no bid) an auction: its seq after the "opened" update. With
    `keep_ending_after` (unix ms), an existing auction that ends after then is kept: None."""
    check_auction_id(auction_id)
    check_cents(start_cents)
    if not title or len(title) > MAX_TITLE_CHARS:
        raise ValueError(f"an auction's title is 1 to {MAX_TITLE_CHARS} characters")
    keys_, args = _common(auction_id, now_ms)
    keep = "" if keep_ending_after is None else int(keep_ending_after)
    args += [title, start_cents, int(ends_at_ms), keep]
    seq = int(_script(client, auction_lua.OPEN)([*keys_, gateway_keys.AUCTIONS], args, client))
    return None if seq < 0 else seq


def open_demo(
    client: redis.Redis,
    now_ms: float,
    *,
    reset: bool = False,
    items: Iterable[DemoItem] | None = None,
) -> list[str]:
    """Open the demo's auctions (DEMO_ITEMS), each ending its minutes from now: those that
    are missing, or ended DEMO_REST_MS ago (a new round), or all of them if `reset`. Safe to
    run from every replica, as often as wanted. The ids it opened."""
    keep = None if reset else int(now_ms) - DEMO_REST_MS
    opened = []
    for item in DEMO_ITEMS if items is None else items:
        ends_at = int(now_ms) + item.minutes * MINUTE_MS
        seq = open_auction(
            client, item.id, item.title, item.start_cents, ends_at, now_ms, keep_ending_after=keep
        )
        if seq is not None:
            opened.append(item.id)
    return opened


# --- reading -----------------------------------------------------------------------------


def read_auction(client: redis.Redis, auction_id: str) -> Auction | None:
    """One auction, or None if there is no such auction (or its id cannot be one)."""
    try:
        check_auction_id(auction_id)
    except ValueError:
        return None
    return _parse(auction_id, client.hgetall(gateway_keys.auction(auction_id)))


def read_auctions(client: redis.Redis) -> list[Auction]:
    """Every auction, the soonest to end first."""
    ids = sorted(_text(raw) for raw in client.smembers(gateway_keys.AUCTIONS))
    pipe = client.pipeline(transaction=False)
    for auction_id in ids:
        pipe.hgetall(gateway_keys.auction(auction_id))
    found = [_parse(i, raw) for i, raw in zip(ids, pipe.execute() if ids else [], strict=True)]
    return sorted((a for a in found if a is not None), key=lambda a: (a.ends_at_ms, a.id))


def _parse(auction_id: str, raw: dict[bytes, bytes]) -> Auction | None:
    """An auction from its hash; None for a missing or malformed one (logged)."""
    if not raw:
        return None
    data = {_text(k): _text(v) for k, v in raw.items()}
    try:
        return Auction(
            id=auction_id,
            title=data["title"],
            start_cents=int(data["start_cents"]),
            ends_at_ms=int(data["ends_at_ms"]),
            highest_cents=int(data["highest_cents"]),
            bidder=data["bidder"],
            seq=int(data["seq"]),
            closed_said=data.get("closed") == "1",
        )
    except (KeyError, ValueError):
        log.warning("ignored the malformed auction %s: %r", auction_id, data)
        return None


# --- bidding and closing -----------------------------------------------------------------


def place_bid(
    client: redis.Redis,
    auction_id: str,
    bidder: str,
    amount_cents: int,
    now_ms: float,
    *,
    request_id: str = "",
    trace: str = "",
) -> BidResult:
    """Place a bid in one atomic step: accepted only if higher than the current one (and at
    least the starting price) while the auction is open. The fields are checked first
    (bids.InvalidBid); a retry with an accepted bid's request id gets its result again."""
    check_auction_id(auction_id)
    check_bidder(bidder)
    check_cents(amount_cents)
    check_request_id(request_id)
    keys_, args = _common(auction_id, now_ms)
    if request_id:
        keys_.append(gateway_keys.bid_request(auction_id, request_id))
    args += [bidder, amount_cents, trace[:64], REQUEST_KEPT_MS]
    outcome, seq, highest, who, ends_at, start = _script(client, auction_lua.PLACE_BID)(
        keys_, args, client
    )
    return BidResult(
        cast(Outcome, _text(outcome)), int(seq), int(highest), _text(who), int(ends_at), int(start)
    )


def close_due(client: redis.Redis, now_ms: float) -> list[str]:
    """Close every auction past its end that is not closed yet (each says so once, whoever
    else runs this at the same time); the ids this call closed."""
    closed = []
    for auction in read_auctions(client):
        if not auction.closed_said and now_ms >= auction.ends_at_ms:
            keys_, args = _common(auction.id, now_ms)
            if _script(client, auction_lua.CLOSE)(keys_, args, client):
                closed.append(auction.id)
    return closed


# --- the updates -------------------------------------------------------------------------


def updates_since(client: redis.Redis, auction_id: str, seq: int, limit: int = 200) -> Since:
    """The auction's updates after `seq` (at most `limit`, oldest first), read in one step
    with its current seq."""
    check_auction_id(auction_id)
    pipe = client.pipeline(transaction=True)
    pipe.xrange(gateway_keys.auction_updates(auction_id), f"{max(seq, 0) + 1}-0", "+", limit)
    pipe.hget(gateway_keys.auction(auction_id), "seq")
    entries, current = pipe.execute()
    updates = [json.loads(fields[b"update"]) for _id, fields in entries]
    current_seq = int(current or 0)
    return Since(updates, is_complete(seq, updates, current_seq), current_seq)


def is_complete(seq: int, updates: list[AuctionUpdate], current_seq: int) -> bool:
    """Whether `updates` are every update after `seq` up to `current_seq`, with none missing."""
    if seq > current_seq:  # the watcher saw more than Redis has: Redis lost them
        return False
    seq = max(seq, 0)
    return [u["seq"] for u in updates] == list(range(seq + 1, current_seq + 1))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
