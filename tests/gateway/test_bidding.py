"""How the bidding service answers a bid's result, in pure code: the status and its words."""

import grpc
import pytest

from archviz.gateway.auction import BidResult
from archviz.gateway.bidding import (
    HIGHEST_BIDDER,
    HIGHEST_CENTS,
    SEQ,
    SERVER_OPTIONS,
    CannotListen,
    bind_port,
    grpc_address,
    refusal,
)

ENDS = 1_700_000_600_000


@pytest.mark.parametrize("outcome", ["accepted", "replayed"])
def test_an_accepted_bid_is_no_refusal(outcome: str) -> None:
    assert refusal(BidResult(outcome, 2, 5_000, "alice", ENDS, 4_000), "lamp", 5_000) is None


def test_an_unknown_auction_is_not_found() -> None:
    refused = refusal(BidResult("unknown", 0, 0, "", 0, 0), "nope", 5_000)
    assert refused == (grpc.StatusCode.NOT_FOUND, "there is no auction 'nope'", ())


def test_a_bid_not_higher_is_aborted_with_the_highest_in_words_and_metadata() -> None:
    """ABORTED: read again and bid higher. The highest is in the message and the trailer."""
    refused = refusal(BidResult("too_low", 7, 123_456, "bob", ENDS, 4_000), "lamp", 120_000)
    assert refused.code == grpc.StatusCode.ABORTED
    assert refused.message == (
        "a bid of 1,200.00 is not higher than the highest bid, 1,234.56 by bob"
    )
    assert dict(refused.metadata) == {HIGHEST_CENTS: "123456", HIGHEST_BIDDER: b"bob", SEQ: "7"}


def test_a_first_bid_under_the_starting_price_says_the_price() -> None:
    refused = refusal(BidResult("too_low", 1, 0, "", ENDS, 4_000), "lamp", 3_999)
    assert refused.code == grpc.StatusCode.ABORTED
    assert refused.message == "a bid of 39.99 is under the starting price, 40.00"


def test_a_closed_auction_is_a_failed_precondition_naming_the_winner() -> None:
    refused = refusal(BidResult("closed", 9, 5_000, "élodie", ENDS, 4_000), "lamp", 9_000)
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.message == "auction 'lamp' is closed: won by élodie with 50.00"
    assert dict(refused.metadata)[HIGHEST_BIDDER] == "élodie".encode()


def test_a_closed_auction_nobody_bid_on_says_so() -> None:
    refused = refusal(BidResult("closed", 2, 0, "", ENDS, 4_000), "lamp", 9_000)
    assert refused.message == "auction 'lamp' is closed: nobody bid"


def test_every_plain_metadata_value_is_ascii() -> None:
    """gRPC sends plain metadata values as ASCII: a name goes in the -bin key, as bytes."""
    refused = refusal(BidResult("too_low", 7, 5_000, "Zoë 🦊", ENDS, 4_000), "lamp", 100)
    for key, value in refused.metadata:
        assert key.endswith("-bin") == isinstance(value, bytes)
        assert isinstance(value, bytes) or value.isascii()


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1:50051"), ("::1", "[::1]:50051"), ("localhost", "localhost:50051")],
)
def test_addresses_are_spelt_as_grpc_wants(host: str, address: str) -> None:
    assert grpc_address(host, 50051) == address


async def test_a_second_replica_cannot_share_the_first_ones_port() -> None:
    """gRPC binds with SO_REUSEPORT by default, so two replicas could split one port's
    calls without a word; ours refuses the second one's bind instead."""
    first = grpc.aio.server(options=SERVER_OPTIONS)
    port = bind_port(first, "127.0.0.1", 0)
    await first.start()
    try:
        with pytest.raises(CannotListen, match=f"127.0.0.1:{port}"):
            bind_port(grpc.aio.server(options=SERVER_OPTIONS), "127.0.0.1", port)
    finally:
        await first.stop(None)
