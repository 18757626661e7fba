"""What a bid is made of, checked in pure code before anything reaches Redis: its amount
(integer cents, never a float), the auction's id, the bidder and the request id.

Every check raises InvalidBid (AmountError for the amount) with a message fit to show the
person who bid; the gateway answers it with 400, the bidding service INVALID_ARGUMENT.
"""

import math
import re
from decimal import Decimal, InvalidOperation

MAX_AMOUNT_CENTS = 100_000_000  # 1,000,000.00: past that a bid is a typo or an attack
MAX_AMOUNT_TEXT = 24  # characters of an amount given as a string: enough for any valid one
MAX_BIDDER_CHARS = 64
AUCTION_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")  # also a part of Redis key names
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # no exponent, sign +, space or "_"


class InvalidBid(ValueError):
    """A bid's field that cannot be right; the message says why."""


class AmountError(InvalidBid):
    """An amount that is not a positive number of cents up to MAX_AMOUNT_CENTS."""


def parse_amount(value: object) -> int:
    """The amount of a bid as sent in JSON (a number or a decimal string, in currency units,
    e.g. 12.5 or "12.50"), in integer cents."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise AmountError("amount must be a number, e.g. 12.50")
    if isinstance(value, float) and not math.isfinite(value):
        raise AmountError("amount must be a finite number, e.g. 12.50")
    if isinstance(value, str):
        return _cents(_decimal_text(value))
    # repr is a float's shortest exact spelling: 0.1 + 0.2 is 0.30000000000000004, not 0.30
    return _cents(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))


def _decimal_text(text: str) -> Decimal:
    if len(text) > MAX_AMOUNT_TEXT:
        raise AmountError(f"amount is too long: at most {format_cents(MAX_AMOUNT_CENTS)}")
    if not _DECIMAL_TEXT.fullmatch(text):
        raise AmountError(f"amount {text[:MAX_AMOUNT_TEXT]!r} is not a number like 12.50")
    try:
        return Decimal(text)
    except InvalidOperation:  # the pattern lets none through; kept for safety
        raise AmountError(f"amount {text!r} is not a number like 12.50") from None


def _cents(units: Decimal) -> int:
    """Whole cents of a positive amount up to the maximum, or why not."""
    cents = units * 100
    if cents <= 0:
        raise AmountError("amount must be more than zero")
    if cents > MAX_AMOUNT_CENTS:
        raise AmountError(f"amount must be at most {format_cents(MAX_AMOUNT_CENTS)}")
    if cents != cents.to_integral_value():
        raise AmountError("amount must have at most 2 decimals (whole cents)")
    return int(cents)


def check_cents(cents: int) -> int:
    """An amount already in cents (the gRPC request's int64): positive, at most the maximum."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise AmountError("amount must be a whole number of cents")
    if cents <= 0:
        raise AmountError("amount must be more than zero")
    if cents > MAX_AMOUNT_CENTS:
        raise AmountError(f"amount must be at most {format_cents(MAX_AMOUNT_CENTS)}")
    return cents


def format_cents(cents: int) -> str:
    """Cents as currency units with two decimals and thousands separators: 123456 -> 1,234.56."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{rest:02d}"


def check_auction_id(auction_id: str) -> str:
    """An auction id as the lab makes them (it is part of Redis key names)."""
    if not isinstance(auction_id, str) or not AUCTION_ID.fullmatch(auction_id):
        shown = auction_id[:40] if isinstance(auction_id, str) else type(auction_id).__name__
        raise InvalidBid(
            f"auction id {shown!r} is not one: 1 to 32 lowercase letters, digits or '-'"
        )
    return auction_id


def check_bidder(bidder: str) -> str:
    """Who bids: a printable name of 1 to MAX_BIDDER_CHARS characters."""
    if not isinstance(bidder, str) or not bidder.strip():
        raise InvalidBid("bidder is missing")
    if len(bidder) > MAX_BIDDER_CHARS:
        raise InvalidBid(f"bidder is longer than {MAX_BIDDER_CHARS} characters")
    if not bidder.isprintable():
        raise InvalidBid("bidder has characters that cannot be shown")
    return bidder


def check_request_id(request_id: str) -> str:
    """A bid's request id ("" for none): up to 64 letters, digits or ._:-"""
    if request_id == "":
        return request_id
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise InvalidBid("request id must be 1 to 64 letters, digits or ._:-")
    return request_id
