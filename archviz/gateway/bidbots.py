"""The bidding bots' decisions, in pure code (the caller passes the clock and the random
generator): how much to bid, when to renew a token, how long to wait after an error, what
an auction update says, and which auction to watch. The bots themselves are bidder.py.
"""

import json
import math
import random
from dataclasses import dataclass
from typing import Any

from archviz.gateway import tokens
from archviz.gateway.bids import AUCTION_ID, MAX_AMOUNT_CENTS

BID_EVERY_S = (3.0, 9.0)  # a bot thinks about bidding this often
MIN_STEP_CENTS = 50  # the smallest raise
STEP_FRACTION = (0.01, 0.05)  # a raise is 1-5 % of the current highest
BUDGET_TIMES_START = (1.5, 3.0)  # a bot stops bidding past this many times the start price
RENEW_AT_FRACTION = (0.6, 0.8)  # of a token's life; spread so that the bots do not renew at once
RENEW_MARGIN_S = 2.0  # renewed at least this long before it expires
ENDING_SOON_MS = 5_000  # an auction ending sooner is not worth starting to watch


# --- amounts -----------------------------------------------------------------------------------


def budget_cents(start_cents: int, rng: random.Random) -> int:
    """The most a bot will bid in an auction: a few times its starting price."""
    return min(MAX_AMOUNT_CENTS, round(start_cents * rng.uniform(*BUDGET_TIMES_START)))


def next_bid_cents(
    highest_cents: int, start_cents: int, budget: int, rng: random.Random
) -> int | None:
    """A little above the current highest (the starting price when nobody has bid), in
    whole ten cents; None when that is past the bot's budget or the largest bid."""
    if highest_cents <= 0:
        amount = max(start_cents, 1)
    else:
        step = max(MIN_STEP_CENTS, round(highest_cents * rng.uniform(*STEP_FRACTION)))
        amount = math.ceil((highest_cents + step) / 10) * 10
    if amount > min(budget, MAX_AMOUNT_CENTS):
        return None
    return amount


def amount_text(cents: int) -> str:
    """Cents as the decimal string a bid's JSON carries: 1234 -> "12.34" (never a float)."""
    return f"{cents // 100}.{cents % 100:02d}"


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A bearer token as the auth service answered it, and when (monotonic) to renew it."""

    value: str
    expires_at: float
    renew_at: float

    def due(self, mono: float) -> bool:
        return mono >= self.renew_at


def renew_at(issued_at: float, expires_in_s: float, rng: random.Random) -> float:
    """When to ask for the next token: most of the way through this one's life, spread at
    random, and never later than RENEW_MARGIN_S before it expires."""
    spread = issued_at + expires_in_s * rng.uniform(*RENEW_AT_FRACTION)
    return max(issued_at, min(spread, issued_at + expires_in_s - RENEW_MARGIN_S))


def token_from(answer: object, issued_at: float, rng: random.Random) -> Token:
    """The token of POST /auth/token's answer; ValueError for an answer that is not one."""
    if not isinstance(answer, dict):
        raise ValueError("the token answer is not a JSON object")
    value, expires_in = answer.get("token"), answer.get("expires_in")
    if not isinstance(value, str) or not value or len(value) > tokens.MAX_TOKEN_CHARS:
        raise ValueError("the token answer has no token")
    if not tokens.is_number(expires_in) or not 0 < expires_in <= tokens.MAX_TTL_S:  # type: ignore[operator]
        raise ValueError("the token answer has no usable expires_in")
    life = float(expires_in)  # type: ignore[arg-type]
    return Token(value, issued_at + life, renew_at(issued_at, life, rng))


# --- backing off -------------------------------------------------------------------------------


class Backoff:
    """Exponential backoff with jitter: each wait is between half and all of base * 2^n
    (capped), so that bots that failed together do not retry together; a Retry-After is
    waited at least, plus a little."""

    def __init__(self, rng: random.Random, *, base_s: float = 0.5, cap_s: float = 30.0) -> None:
        self.rng = rng
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0

    def next_delay(self, retry_after_s: float | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * 2**self.failures)
        self.failures += 1
        delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if retry_after_s is not None and retry_after_s > 0:
            delay = max(delay, retry_after_s + self.rng.uniform(0, 1))
        return delay

    def reset(self) -> None:
        self.failures = 0


def retry_after(value: str | None) -> float | None:
    """A Retry-After header in seconds (RFC 9110 §10.2.3; its date form is not used here)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 3_600 else None


# --- auctions ----------------------------------------------------------------------------------


@dataclass
class Watched:
    """What a bot knows of the auction it watches."""

    auction_id: str
    start_cents: int = 0
    highest_cents: int = 0
    bidder: str = ""
    ends_at_ms: int = 0
    closed: bool = False
    seq: int = 0

    def apply(self, update: dict[str, Any]) -> None:
        """An update (see parse_update); one older than what is known is left out."""
        seq = update.get("seq")
        if isinstance(seq, int) and seq and seq < self.seq:
            return
        for name in ("start_cents", "highest_cents", "ends_at_ms", "seq"):
            if name in update:
                setattr(self, name, update[name])
        self.bidder = update.get("bidder", self.bidder)
        self.closed = update.get("closed", self.closed)

    def open(self, now_ms: float) -> bool:
        return not self.closed and (not self.ends_at_ms or now_ms < self.ends_at_ms)


_COUNTS = ("start_cents", "highest_cents", "amount_cents", "ends_at_ms", "seq")


def parse_update(raw: str | bytes | dict) -> dict[str, Any] | None:
    """What an auction message says, in Watched's terms, from any of its shapes: an update
    of the auction's channel ({"type": "opened"|"bid"|"closed", "amount_cents", "bidder",
    ...}), or a view of the auction as the catalog answers it ({"highest_cents",
    "highest_bidder", "closed", ...}). None for anything else (pure)."""
    try:
        found = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(found, dict):
        return None
    numbers = {k: found[k] for k in _COUNTS if _is_count(found.get(k))}
    update: dict[str, Any] = {k: v for k, v in numbers.items() if k != "amount_cents"}
    if "amount_cents" in numbers and found.get("type") in ("opened", "bid", "closed"):
        update["highest_cents"] = numbers["amount_cents"]
    bidder = found.get("highest_bidder", found.get("bidder"))
    if isinstance(bidder, str):
        update["bidder"] = bidder[:64]
    if found.get("type") == "closed" or found.get("closed") is True:
        update["closed"] = True
    if found.get("type") == "opened":  # a new round: nobody has bid
        update |= {"closed": False, "bidder": ""}
    return update or None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def pick_auction(views: object, now_ms: float, rng: random.Random) -> Watched | None:
    """One of the open auctions of the catalog's list, at random, not one about to end."""
    listed = views.get("auctions") if isinstance(views, dict) else None
    watched = [_watched(view) for view in (listed if isinstance(listed, list) else [])]
    choices = [w for w in watched if w is not None and w.open(now_ms + ENDING_SOON_MS)]
    return rng.choice(choices) if choices else None


def _watched(view: object) -> Watched | None:
    """An auction of the catalog's list, if its id is one (it goes into the bot's paths)."""
    if not isinstance(view, dict):
        return None
    auction_id, update = view.get("id"), parse_update(view)
    if update is None or not isinstance(auction_id, str) or not AUCTION_ID.fullmatch(auction_id):
        return None
    watched = Watched(auction_id)
    watched.apply(update)
    return watched
