"""The auctions against the session's real Redis: opening, reading, bidding, closing and the
stream of updates read since a seq."""

import json

import pytest
import redis

from archviz.gateway import auction
from archviz.gateway import keys as gateway_keys
from archviz.gateway.auction import (
    DEMO_ITEMS,
    DEMO_REST_MS,
    MINUTE_MS,
    BidResult,
    DemoItem,
    close_due,
    is_complete,
    open_auction,
    open_demo,
    place_bid,
    read_auction,
    read_auctions,
    updates_since,
)
from archviz.gateway.bids import AmountError, InvalidBid

NOW = 1_700_000_000_000
ENDS = NOW + 10 * MINUTE_MS


@pytest.fixture
def lamp(redis_client: redis.Redis) -> redis.Redis:
    """One open auction, "lamp", starting at 40.00 and ending in 10 minutes."""
    open_auction(redis_client, "lamp", "Desk lamp", 4_000, ENDS, NOW)
    return redis_client


def stream(client: redis.Redis, auction_id: str = "lamp") -> list[dict]:
    entries = client.xrange(gateway_keys.auction_updates(auction_id))
    return [json.loads(fields[b"update"]) for _id, fields in entries]


# --- opening and reading ---------------------------------------------------------------


def test_the_demo_opens_its_items_each_ending_its_minutes_from_now(
    redis_client: redis.Redis,
) -> None:
    """Every demo item is an open auction with no bid, the soonest to end listed first."""
    assert open_demo(redis_client, NOW) == [item.id for item in DEMO_ITEMS]
    found = read_auctions(redis_client)
    by_end = sorted(DEMO_ITEMS, key=lambda item: item.minutes)
    assert [a.id for a in found] == [item.id for item in by_end]
    for item, got in zip(by_end, found, strict=True):
        assert (got.title, got.start_cents) == (item.title, item.start_cents)
        assert got.ends_at_ms == NOW + item.minutes * MINUTE_MS
        assert (got.highest_cents, got.bidder, got.seq) == (0, "", 1)
        assert not got.closed(NOW)


def test_opening_the_demo_again_keeps_its_bids_unless_reset(lamp: redis.Redis) -> None:
    """A restarted service keeps running auctions; a reset reopens them, seq carrying on."""
    items = [DemoItem("lamp", "Desk lamp", 4_000, 10)]
    place_bid(lamp, "lamp", "alice", 5_000, NOW)
    assert open_demo(lamp, NOW + 1, items=items) == []
    assert read_auction(lamp, "lamp").highest_cents == 5_000

    assert open_demo(lamp, NOW + 2, items=items, reset=True) == ["lamp"]
    reopened = read_auction(lamp, "lamp")
    assert (reopened.highest_cents, reopened.bidder, reopened.seq) == (0, "", 3)
    assert [u["type"] for u in stream(lamp)] == ["opened", "bid", "opened"]


def test_a_demo_auction_shows_its_winner_for_a_rest_then_reopens_once(
    lamp: redis.Redis,
) -> None:
    """A new round starts by itself; every replica may ask, only one reopens it."""
    items = [DemoItem("lamp", "Desk lamp", 4_000, 10)]
    place_bid(lamp, "lamp", "alice", 5_000, NOW)
    assert open_demo(lamp, ENDS + DEMO_REST_MS - 1, items=items) == []
    assert open_demo(lamp, ENDS + DEMO_REST_MS, items=items) == ["lamp"]
    assert open_demo(lamp, ENDS + DEMO_REST_MS, items=items) == []
    assert [u["type"] for u in stream(lamp)] == ["opened", "bid", "closed", "opened"]
    reopened = read_auction(lamp, "lamp")
    assert reopened.ends_at_ms == ENDS + DEMO_REST_MS + 10 * MINUTE_MS
    assert not reopened.closed(ENDS + DEMO_REST_MS)


def test_a_reopened_auction_takes_its_seq_from_the_stream_if_its_hash_was_lost(
    lamp: redis.Redis,
) -> None:
    """The seq never goes back, so a watcher's "since" still means the same updates."""
    place_bid(lamp, "lamp", "alice", 5_000, NOW)
    lamp.delete(gateway_keys.auction("lamp"))
    assert open_auction(lamp, "lamp", "Desk lamp", 4_000, ENDS, NOW) == 3


def test_the_view_says_closed_and_the_winner_once_past_the_end(lamp: redis.Redis) -> None:
    place_bid(lamp, "lamp", "alice", 5_000, NOW)
    found = read_auction(lamp, "lamp")
    assert found.view(ENDS)["closed"] is True
    assert found.view(ENDS)["winner"] == "alice"
    assert found.view(NOW) == {
        "id": "lamp", "title": "Desk lamp", "start_cents": 4_000, "highest_cents": 5_000,
        "highest_bidder": "alice", "seq": 2, "ends_at_ms": ENDS, "closed": False, "winner": "",
    }  # fmt: skip


@pytest.mark.parametrize("auction_id", ["nope", "NOPE", "a" * 100, "x:y", ""])
def test_reading_an_unknown_or_impossible_auction_finds_none(
    redis_client: redis.Redis, auction_id: str
) -> None:
    assert read_auction(redis_client, auction_id) is None


def test_a_malformed_auction_hash_is_skipped_not_a_crash(lamp: redis.Redis) -> None:
    """Whatever else wrote to Redis, reading the catalog still works."""
    lamp.hset(gateway_keys.auction("bad"), mapping={"title": "x", "seq": "many"})
    lamp.sadd(gateway_keys.AUCTIONS, "bad", "gone")
    assert [a.id for a in read_auctions(lamp)] == ["lamp"]
    assert read_auction(lamp, "bad") is None


def test_no_auctions_is_an_empty_list(redis_client: redis.Redis) -> None:
    assert read_auctions(redis_client) == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("Bad Id", "t", 100), InvalidBid),
        (("ok", "t", 0), AmountError),
        (("ok", "", 100), ValueError),
        (("ok", "t" * 101, 100), ValueError),
    ],
)
def test_an_auction_with_bad_fields_is_not_opened(
    redis_client: redis.Redis, args: tuple, error: type[Exception]
) -> None:
    with pytest.raises(error):
        open_auction(redis_client, *args, ENDS, NOW)
    assert read_auctions(redis_client) == []


# --- bidding ---------------------------------------------------------------------------


def test_a_higher_bid_is_accepted_numbered_kept_and_published(lamp: redis.Redis) -> None:
    """One step: the highest bid set, the seq counted, the update in the stream and sent."""
    pubsub = lamp.pubsub()
    pubsub.subscribe(gateway_keys.auction_channel("lamp"))
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"

    result = place_bid(lamp, "lamp", "alice", 4_500, NOW + 5, trace="t-1")

    assert result == BidResult("accepted", 2, 4_500, "alice", ENDS, 4_000)
    assert read_auction(lamp, "lamp").highest_cents == 4_500
    update = {"type": "bid", "auction": "lamp", "seq": 2, "amount_cents": 4_500,
              "bidder": "alice", "ends_at_ms": ENDS, "ts": NOW + 5, "trace": "t-1"}  # fmt: skip
    assert stream(lamp)[-1] == update
    message = pubsub.get_message(timeout=5)
    assert json.loads(message["data"]) == update
    assert lamp.xrange(gateway_keys.auction_updates("lamp"))[-1][0] == b"2-0"
    pubsub.close()


@pytest.mark.parametrize(("amount", "first"), [(5_000, True), (4_999, True), (3_999, False)])
def test_a_bid_not_higher_is_refused_with_the_current_highest(
    lamp: redis.Redis, amount: int, first: bool
) -> None:
    """Equal to or below the highest, or below the starting price: refused, nothing kept."""
    if first:
        place_bid(lamp, "lamp", "alice", 5_000, NOW)
    before = stream(lamp)
    result = place_bid(lamp, "lamp", "bob", amount, NOW)
    highest, bidder = (5_000, "alice") if first else (0, "")
    assert result == BidResult("too_low", len(before), highest, bidder, ENDS, 4_000)
    assert stream(lamp) == before


def test_the_starting_price_itself_is_a_valid_first_bid(lamp: redis.Redis) -> None:
    assert place_bid(lamp, "lamp", "alice", 4_000, NOW).outcome == "accepted"


def test_a_bid_on_an_unknown_auction_is_unknown(redis_client: redis.Redis) -> None:
    assert place_bid(redis_client, "nope", "alice", 100, NOW).outcome == "unknown"
    assert redis_client.keys("*") == []


@pytest.mark.parametrize(
    ("auction_id", "bidder", "amount", "request_id"),
    [
        ("Lamp", "alice", 100, ""),
        ("lamp", "", 100, ""),
        ("lamp", "a\nb", 100, ""),
        ("lamp", "alice", 0, ""),
        ("lamp", "alice", -5, ""),
        ("lamp", "alice", 10**12, ""),
        ("lamp", "alice", 100, "has space"),
    ],
)
def test_bad_fields_are_refused_before_redis(
    lamp: redis.Redis, auction_id: str, bidder: str, amount: int, request_id: str
) -> None:
    before = stream(lamp)
    with pytest.raises(InvalidBid):
        place_bid(lamp, auction_id, bidder, amount, NOW, request_id=request_id)
    assert stream(lamp) == before


def test_a_bid_at_the_end_time_is_closed_with_the_winner_said_once(lamp: redis.Redis) -> None:
    """The first step past the end says "closed" once, with the winner; later ones repeat it."""
    place_bid(lamp, "lamp", "alice", 5_000, NOW)
    first = place_bid(lamp, "lamp", "bob", 9_000, ENDS)
    again = place_bid(lamp, "lamp", "bob", 9_500, ENDS + 1)
    assert first == again == BidResult("closed", 3, 5_000, "alice", ENDS, 4_000)
    closed = [u for u in stream(lamp) if u["type"] == "closed"]
    assert closed == [{"type": "closed", "auction": "lamp", "seq": 3, "amount_cents": 5_000,
                       "bidder": "alice", "ends_at_ms": ENDS, "ts": ENDS, "trace": ""}]  # fmt: skip
    assert read_auction(lamp, "lamp").closed_said


def test_a_retry_with_an_accepted_request_id_gets_its_result_not_a_second_bid(
    lamp: redis.Redis,
) -> None:
    """After a lost answer (a deadline) the same request is not refused as "not higher"."""
    first = place_bid(lamp, "lamp", "alice", 5_000, NOW, request_id="r-1")
    retry = place_bid(lamp, "lamp", "alice", 5_000, NOW, request_id="r-1")
    assert first.outcome == "accepted"
    assert retry == first._replace(outcome="replayed")
    assert [u["type"] for u in stream(lamp)] == ["opened", "bid"]
    assert 0 < lamp.pttl(gateway_keys.bid_request("lamp", "r-1")) <= auction.REQUEST_KEPT_MS


def test_a_refused_request_id_is_tried_again_on_retry(lamp: redis.Redis) -> None:
    """Only accepted bids are remembered: a refusal is the state then, not a result to keep."""
    assert place_bid(lamp, "lamp", "bob", 100, NOW, request_id="r-2").outcome == "too_low"
    assert not lamp.exists(gateway_keys.bid_request("lamp", "r-2"))


# --- closing ---------------------------------------------------------------------------


def test_closing_the_due_auctions_says_closed_once_whoever_runs_it(lamp: redis.Redis) -> None:
    open_auction(lamp, "later", "Later", 100, ENDS + MINUTE_MS, NOW)
    place_bid(lamp, "lamp", "alice", 5_000, NOW)
    assert close_due(lamp, NOW) == []
    assert close_due(lamp, ENDS) == ["lamp"]
    assert close_due(lamp, ENDS + 1) == []  # a second replica's run: nothing more
    assert [u["type"] for u in stream(lamp)] == ["opened", "bid", "closed"]
    assert stream(lamp, "later")[-1]["type"] == "opened"


def test_an_auction_nobody_bid_on_closes_with_no_winner(lamp: redis.Redis) -> None:
    close_due(lamp, ENDS)
    assert stream(lamp)[-1] | {"ts": 0} == {
        "type": "closed", "auction": "lamp", "seq": 2, "amount_cents": 0, "bidder": "",
        "ends_at_ms": ENDS, "ts": 0, "trace": "",
    }  # fmt: skip
    assert read_auction(lamp, "lamp").winner(ENDS) == ""


# --- the updates since a seq -----------------------------------------------------------


def test_the_updates_since_a_seq_are_those_after_it_in_order(lamp: redis.Redis) -> None:
    for i in range(5):
        place_bid(lamp, "lamp", f"b{i}", 5_000 + i, NOW)
    since = updates_since(lamp, "lamp", 3)
    assert [u["seq"] for u in since.updates] == [4, 5, 6]
    assert [u["amount_cents"] for u in since.updates] == [5_002, 5_003, 5_004]
    assert since.complete and since.current_seq == 6
    assert updates_since(lamp, "lamp", 6) == ([], True, 6)
    assert [u["seq"] for u in updates_since(lamp, "lamp", 0).updates] == [1, 2, 3, 4, 5, 6]
    assert [u["seq"] for u in updates_since(lamp, "lamp", -7).updates] == [1, 2, 3, 4, 5, 6]


def test_updates_trimmed_off_the_stream_make_it_incomplete(
    lamp: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watcher away for too long is told it missed some: it starts from the state."""
    monkeypatch.setattr(auction, "UPDATES_KEPT", 5)
    for i in range(300):
        place_bid(lamp, "lamp", "alice", 5_000 + i, NOW)
    assert lamp.xlen(gateway_keys.auction_updates("lamp")) < 301
    since = updates_since(lamp, "lamp", 0)
    assert not since.complete
    assert since.current_seq == 301
    assert updates_since(lamp, "lamp", 299).complete


def test_a_limit_short_of_the_missed_updates_makes_it_incomplete(lamp: redis.Redis) -> None:
    for i in range(5):
        place_bid(lamp, "lamp", "alice", 5_000 + i, NOW)
    since = updates_since(lamp, "lamp", 0, limit=2)
    assert [u["seq"] for u in since.updates] == [1, 2]
    assert not since.complete


def test_an_unknown_auction_has_no_updates(redis_client: redis.Redis) -> None:
    assert updates_since(redis_client, "nope", 0) == ([], True, 0)


@pytest.mark.parametrize(
    ("seq", "seqs", "current", "complete"),
    [
        (0, [], 0, True),
        (3, [], 3, True),
        (3, [4, 5], 5, True),
        (-1, [1], 1, True),
        (3, [5], 5, False),  # 4 trimmed
        (3, [4], 5, False),  # 5 not read (a limit)
        (3, [], 5, False),
        (6, [], 5, False),  # Redis lost updates the watcher saw
        (3, [4, 4, 5], 5, False),
    ],
)
def test_complete_means_every_update_up_to_the_current_one(
    seq: int, seqs: list[int], current: int, complete: bool
) -> None:
    updates = [{"seq": s} for s in seqs]
    assert is_complete(seq, updates, current) is complete  # type: ignore[arg-type]
