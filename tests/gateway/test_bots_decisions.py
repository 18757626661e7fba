"""The bidding bots' decisions, pure: amounts, token renewal, backoff, auction updates and
which auction to watch."""

import json
import random

import pytest

from archviz.gateway.bidbots import (
    ENDING_SOON_MS,
    MIN_STEP_CENTS,
    RENEW_MARGIN_S,
    Backoff,
    Token,
    Watched,
    amount_text,
    budget_cents,
    next_bid_cents,
    parse_update,
    pick_auction,
    renew_at,
    retry_after,
    token_from,
)
from archviz.gateway.bids import MAX_AMOUNT_CENTS, parse_amount

SEEDS = range(200)


# --- amounts -----------------------------------------------------------------------------------


def test_the_first_bid_is_the_starting_price() -> None:
    assert next_bid_cents(0, 4_000, 10_000, random.Random(1)) == 4_000


@pytest.mark.parametrize("highest", [1, 99, 4_000, 123_456, 5_000_000])
def test_a_bid_is_a_little_above_the_highest_in_whole_ten_cents(highest: int) -> None:
    """At least MIN_STEP_CENTS more, at most about 5 % more, a multiple of 10 cents."""
    for seed in SEEDS:
        amount = next_bid_cents(highest, 1, MAX_AMOUNT_CENTS, random.Random(seed))
        assert amount is not None and amount % 10 == 0
        assert highest + MIN_STEP_CENTS <= amount <= max(highest * 1.05 + 10, highest + 60)


def test_no_bid_past_the_budget_or_the_largest_amount() -> None:
    rng = random.Random(3)
    assert next_bid_cents(9_990, 1_000, 10_000, rng) is None
    assert next_bid_cents(0, 20_000, 10_000, rng) is None
    assert next_bid_cents(MAX_AMOUNT_CENTS - 10, 1, 10 * MAX_AMOUNT_CENTS, rng) is None


def test_a_budget_is_a_few_times_the_starting_price() -> None:
    budgets = {budget_cents(4_000, random.Random(seed)) for seed in SEEDS}
    assert min(budgets) >= 6_000 and max(budgets) <= 12_000 and len(budgets) > 50
    assert budget_cents(MAX_AMOUNT_CENTS, random.Random(1)) == MAX_AMOUNT_CENTS


@pytest.mark.parametrize("cents", [1, 10, 99, 100, 1_234, 100_000_000])
def test_an_amount_is_sent_as_the_decimal_the_gateway_parses_back(cents: int) -> None:
    """A string, never a float, with two decimals: bids.parse_amount reads it exactly."""
    assert parse_amount(amount_text(cents)) == cents
    assert amount_text(1_234) == "12.34"


# --- tokens ------------------------------------------------------------------------------------


def test_a_token_is_renewed_most_of_the_way_through_its_life_spread_at_random() -> None:
    times = [renew_at(100.0, 300, random.Random(seed)) for seed in SEEDS]
    assert all(100 + 0.6 * 300 <= t <= 100 + 0.8 * 300 for t in times)
    assert len(set(times)) == len(times)  # bots do not all renew at once


@pytest.mark.parametrize("life", [5, 6, 10])
def test_a_short_token_is_renewed_before_the_margin(life: float) -> None:
    for seed in SEEDS:
        at = renew_at(100.0, life, random.Random(seed))
        assert 100.0 <= at <= 100.0 + life - RENEW_MARGIN_S


def test_the_token_answer_is_read_with_its_renewal_time() -> None:
    token = token_from({"token": "a.b.c", "expires_in": 300}, 50.0, random.Random(1))
    assert (token.value, token.expires_at) == ("a.b.c", 350.0)
    assert not token.due(50.0) and token.due(token.renew_at) and token.renew_at < 350 - 2


@pytest.mark.parametrize(
    "answer",
    [None, [], {}, {"token": "", "expires_in": 300}, {"token": "t", "expires_in": 0},
     {"token": "t", "expires_in": "300"}, {"token": "t", "expires_in": True},
     {"token": "t", "expires_in": 10**6}, {"token": 7, "expires_in": 300},
     {"token": "t" * 5_000, "expires_in": 300}],
)  # fmt: skip
def test_an_answer_that_is_not_a_token_is_refused(answer: object) -> None:
    with pytest.raises(ValueError, match="the token answer"):
        token_from(answer, 0.0, random.Random(1))


def test_a_token_is_not_due_before_its_renewal_time() -> None:
    token = Token("t", expires_at=10.0, renew_at=7.0)
    assert [token.due(t) for t in (6.9, 7.0, 9.0)] == [False, True, True]


# --- backing off -------------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(random.Random(5), base_s=0.5, cap_s=8.0)
    delays = [backoff.next_delay() for _ in range(8)]
    for n, delay in enumerate(delays):
        ceiling = min(8.0, 0.5 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_bots_that_fail_together_do_not_retry_together() -> None:
    delays = {Backoff(random.Random(seed)).next_delay() for seed in SEEDS}
    assert len(delays) == len(SEEDS)


def test_a_retry_after_is_waited_at_least() -> None:
    backoff = Backoff(random.Random(2), base_s=0.5)
    assert 3.0 <= backoff.next_delay(retry_after_s=3.0) <= 4.0
    assert backoff.next_delay(retry_after_s=0.0) <= 1.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, None), ("3", 3.0), ("0", 0.0), ("1.5", 1.5), ("-1", None), ("soon", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("99999", None)],
)  # fmt: skip
def test_retry_after_is_read_in_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after(value) == seconds


# --- auction updates ---------------------------------------------------------------------------


def test_a_bid_update_of_the_channel_is_the_new_highest() -> None:
    raw = json.dumps({"type": "bid", "auction": "lamp", "seq": 7, "amount_cents": 5_000,
                      "bidder": "ada", "ends_at_ms": 99, "ts": 1, "trace": "t"})  # fmt: skip
    assert parse_update(raw) == {"seq": 7, "highest_cents": 5_000, "bidder": "ada",
                                 "ends_at_ms": 99}  # fmt: skip


def test_a_catalog_view_is_an_update_too() -> None:
    view = {"id": "lamp", "title": "x", "start_cents": 4_000, "highest_cents": 4_500,
            "highest_bidder": "bob", "seq": 3, "ends_at_ms": 99, "closed": True,
            "winner": "bob"}  # fmt: skip
    assert parse_update(view) == {"start_cents": 4_000, "highest_cents": 4_500, "seq": 3,
                                  "ends_at_ms": 99, "bidder": "bob", "closed": True}  # fmt: skip


@pytest.mark.parametrize(
    "raw", ["", "{", "[]", "7", '{"type": "bid"}', '{"amount_cents": -5, "type": "bid"}',
            '{"seq": true}', '{"amount_cents": 12}', b"\xff"],
)  # fmt: skip
def test_a_message_that_says_nothing_of_the_auction_is_none(raw: str | bytes) -> None:
    """A bare amount_cents without an update's type is not taken as the highest either."""
    assert parse_update(raw) is None


def test_the_watched_auction_follows_its_updates_in_order() -> None:
    watched = Watched("lamp", start_cents=4_000)
    watched.apply({"seq": 5, "highest_cents": 5_000, "bidder": "ada", "ends_at_ms": 1_000})
    watched.apply({"seq": 4, "highest_cents": 4_500, "bidder": "bob"})  # late: left out
    assert (watched.highest_cents, watched.bidder, watched.seq) == (5_000, "ada", 5)
    watched.apply({"seq": 6, "closed": True})
    assert not watched.open(now_ms=0)
    reopened = parse_update({"type": "opened", "seq": 7, "amount_cents": 0, "ends_at_ms": 9_000})
    watched.apply(reopened or {})
    assert (watched.open(now_ms=0), watched.bidder, watched.highest_cents) == (True, "", 0)
    assert not watched.open(now_ms=9_000)


# --- which auction -----------------------------------------------------------------------------


def _listed(*auctions: dict) -> dict:
    return {"auctions": [{"start_cents": 100, "highest_cents": 0, "highest_bidder": "",
                          "seq": 1, "closed": False, **a} for a in auctions]}  # fmt: skip


def test_a_bot_picks_an_open_auction_at_random() -> None:
    listed = _listed({"id": "lamp", "ends_at_ms": 100_000}, {"id": "map", "ends_at_ms": 100_000},
                     {"id": "old", "ends_at_ms": 100_000, "closed": True},
                     {"id": "soon", "ends_at_ms": 1_000 + ENDING_SOON_MS})  # fmt: skip
    picked = {pick_auction(listed, 1_000, random.Random(seed)).auction_id for seed in SEEDS}
    assert picked == {"lamp", "map"}
    lamp = pick_auction(_listed({"id": "lamp", "ends_at_ms": 100_000}), 1_000, random.Random(1))
    assert (lamp.start_cents, lamp.ends_at_ms) == (100, 100_000)


@pytest.mark.parametrize(
    "listed",
    [None, {}, {"auctions": 7}, _listed(), _listed({"id": "../admin", "ends_at_ms": 10**12}),
     _listed({"id": "Lamp?x=1", "ends_at_ms": 10**12}), _listed({"id": 5, "ends_at_ms": 10**12}),
     {"auctions": ["lamp", None]}],
)  # fmt: skip
def test_no_auction_is_picked_from_a_list_without_a_usable_one(listed: object) -> None:
    """Ids go into the bot's paths: only the bidding service's own kind of id is taken."""
    assert pick_auction(listed, 1_000, random.Random(1)) is None
