"""A bid's fields checked in pure code: amounts from JSON numbers and strings, ids, bidders."""

import json
import math

import pytest

from archviz.gateway.bids import (
    MAX_AMOUNT_CENTS,
    AmountError,
    InvalidBid,
    check_auction_id,
    check_bidder,
    check_cents,
    check_request_id,
    format_cents,
    parse_amount,
)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (1, 100),
        (12, 1200),
        (12.5, 1250),
        (12.34, 1234),
        (0.01, 1),
        (0.1, 10),
        (19.99, 1999),
        (1_000_000, MAX_AMOUNT_CENTS),
        (1_000_000.0, MAX_AMOUNT_CENTS),
        ("1", 100),
        ("12.5", 1250),
        ("12.50", 1250),
        ("12.500", 1250),  # still whole cents
        ("0.01", 1),
        ("007", 700),
        ("1000000", MAX_AMOUNT_CENTS),
        ("1000000.00", MAX_AMOUNT_CENTS),
        ("999999.99", MAX_AMOUNT_CENTS - 1),
    ],
)
def test_a_good_amount_becomes_whole_cents(value: object, cents: int) -> None:
    """Numbers and decimal strings in currency units become the same integer cents."""
    assert parse_amount(value) == cents
    assert type(parse_amount(value)) is int


@pytest.mark.parametrize(
    "value",
    [None, True, False, [], [12], {}, {"amount": 12}, b"12", object()],
)
def test_what_is_no_number_is_refused(value: object) -> None:
    """null, booleans (JSON true is no amount), lists, objects and bytes are refused."""
    with pytest.raises(AmountError, match="must be a number"):
        parse_amount(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities_are_refused(value: float) -> None:
    with pytest.raises(AmountError, match="finite"):
        parse_amount(value)


@pytest.mark.parametrize("text", ["NaN", "1e400", "-Infinity"])
def test_json_that_python_reads_as_nan_or_infinity_is_refused(text: str) -> None:
    """Python's json module reads NaN, Infinity and 1e400 as floats: still refused."""
    with pytest.raises(AmountError, match="finite"):
        parse_amount(json.loads(text))


@pytest.mark.parametrize("value", [0, 0.0, -0.0, -1, -12.5, "0", "0.00", "-0", "-5", "-0.01"])
def test_zero_and_negative_amounts_are_refused(value: object) -> None:
    with pytest.raises(AmountError, match="more than zero"):
        parse_amount(value)


@pytest.mark.parametrize(
    "value",
    [1_000_000.01, 1_000_001, 10**400, 1e300, "1000000.01", "99999999999", 2**63, "1" * 24],
)
def test_absurdly_large_amounts_are_refused(value: object) -> None:
    with pytest.raises(AmountError, match=r"at most 1,000,000\.00"):
        parse_amount(value)


def test_an_amount_string_past_its_length_is_refused_unread() -> None:
    """A long string is refused by its length, before anything parses it."""
    with pytest.raises(AmountError, match="too long"):
        parse_amount("1" * 25)
    with pytest.raises(AmountError, match="too long"):
        parse_amount("1." + "0" * 10_000)


@pytest.mark.parametrize(
    "value", [12.345, 0.001, 0.1 + 0.2, 1e-9, "12.345", "0.001", "0.0000000000000000000001"]
)
def test_fractions_of_a_cent_are_refused(value: object) -> None:
    """More than 2 decimals is refused, never rounded (0.1 + 0.2 is not 0.30)."""
    with pytest.raises(AmountError, match="at most 2 decimals"):
        parse_amount(value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "12,50",
        "12.",
        ".5",
        "+12",
        " 12",
        "12 ",
        "1e3",
        "1E3",
        "0x10",
        "1_000",
        "12.5.0",
        "--1",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "١٢",  # Arabic-Indic digits: Decimal reads them, we do not
        "\uff11\uff12",  # fullwidth digits
        "12\n",
        "€12",
        "12 EUR",
    ],
)
def test_strings_that_are_not_plain_decimals_are_refused(text: str) -> None:
    """Only digits with an optional '-' and decimals: no exponent, sign +, space or '_'."""
    with pytest.raises(AmountError, match=r"not a number like 12\.50"):
        parse_amount(text)


def test_an_amount_error_is_an_invalid_bid_and_a_value_error() -> None:
    """Callers catch InvalidBid for every field, or ValueError."""
    assert issubclass(AmountError, InvalidBid)
    assert issubclass(InvalidBid, ValueError)


@pytest.mark.parametrize("cents", [1, 1250, MAX_AMOUNT_CENTS])
def test_cents_in_range_are_kept(cents: int) -> None:
    assert check_cents(cents) == cents


@pytest.mark.parametrize(
    ("cents", "why"),
    [
        (0, "more than zero"),
        (-1, "more than zero"),
        (-(2**63), "more than zero"),
        (MAX_AMOUNT_CENTS + 1, "at most"),
        (2**63 - 1, "at most"),
        (True, "whole number of cents"),
        (12.5, "whole number of cents"),
        ("1250", "whole number of cents"),
    ],
)
def test_cents_out_of_range_or_not_integers_are_refused(cents: object, why: str) -> None:
    with pytest.raises(AmountError, match=why):
        check_cents(cents)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (99, "0.99"),
        (100, "1.00"),
        (1250, "12.50"),
        (123456, "1,234.56"),
        (MAX_AMOUNT_CENTS, "1,000,000.00"),
        (-1250, "-12.50"),
    ],
)
def test_cents_are_shown_as_units_with_two_decimals(cents: int, text: str) -> None:
    assert format_cents(cents) == text


def test_every_cent_amount_round_trips_through_its_text() -> None:
    """format_cents and parse_amount agree, for a sweep of amounts (separators removed)."""
    for cents in [*range(1, 2_000), *range(MAX_AMOUNT_CENTS - 2_000, MAX_AMOUNT_CENTS + 1)]:
        assert parse_amount(format_cents(cents).replace(",", "")) == cents


def test_every_two_decimal_float_is_its_cents() -> None:
    """A JSON number with two decimals is exactly its cents, for each cent up to 100.00."""
    for cents in range(1, 10_001):
        assert parse_amount(json.loads(f"{cents // 100}.{cents % 100:02d}")) == cents


@pytest.mark.parametrize("auction_id", ["a", "lamp", "auction-1", "0", "a" * 32, "x-1-y"])
def test_auction_ids_of_lowercase_digits_and_dashes_are_kept(auction_id: str) -> None:
    assert check_auction_id(auction_id) == auction_id


@pytest.mark.parametrize(
    "auction_id",
    ["", "A", "Lamp", "-a", "a" * 33, "a b", "a:b", "a*", "a\n", "lämp", "a/b", 12, None],
)
def test_other_auction_ids_are_refused(auction_id: object) -> None:
    """An id is part of Redis key names: nothing but what the lab makes gets near one."""
    with pytest.raises(InvalidBid, match="is not one"):
        check_auction_id(auction_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("bidder", ["alice", "Bob Smith", "x", "ü" * 64, "élodie@example.com"])
def test_printable_bidders_are_kept(bidder: str) -> None:
    assert check_bidder(bidder) == bidder


@pytest.mark.parametrize(
    ("bidder", "why"),
    [
        ("", "missing"),
        ("   ", "missing"),
        (None, "missing"),
        ("a" * 65, "longer than 64"),
        ("a\nb", "cannot be shown"),
        ("a\x00", "cannot be shown"),
        ("\u202eevil", "cannot be shown"),
    ],
)
def test_missing_long_or_unprintable_bidders_are_refused(bidder: object, why: str) -> None:
    with pytest.raises(InvalidBid, match=why):
        check_bidder(bidder)  # type: ignore[arg-type]


@pytest.mark.parametrize("request_id", ["", "r1", "a" * 64, "2f1c-9:x.y_z"])
def test_request_ids_are_kept_when_short_and_plain(request_id: str) -> None:
    assert check_request_id(request_id) == request_id


@pytest.mark.parametrize("request_id", ["a" * 65, "a b", "a\n", "ä", "a*", "{x}"])
def test_other_request_ids_are_refused(request_id: str) -> None:
    with pytest.raises(InvalidBid, match="request id"):
        check_request_id(request_id)
