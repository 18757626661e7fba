"""`manage.py bidding` as a real process on the session's Redis, called over gRPC with the
generated stub: what it accepts, how it refuses, deadlines, and how it stops."""

import json
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core.registry import Registration, lookup
from archviz.gateway import keys as gateway_keys
from archviz.gateway.auction import open_auction
from archviz.gateway.bidding import HIGHEST_BIDDER, HIGHEST_CENTS, SEQ
from archviz.gateway.proto import bidding_pb2, bidding_pb2_grpc
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.trace.events import now_ms
from tests.harness.processes import ManagePy, command_env
from tests.harness.wait_for import async_wait_for, wait_for

integration = pytest.mark.integration
MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def bidding(redis_server: EmbeddedRedis) -> Iterator[Registration]:
    """One replica, `manage.py bidding --id bidding-1` on a free port, for the module: its
    registration (each test then empties Redis; its heartbeat writes it back)."""
    env = command_env(REDIS_URL=redis_server.url)
    with ManagePy("bidding", "--id", "bidding-1", env=env, name="bidding-1") as process:
        yield process.wait_registered(redis.Redis.from_url(redis_server.url), "bidding")


@pytest.fixture
async def stub(
    bidding: Registration, redis_client: redis.Redis
) -> AsyncIterator[bidding_pb2_grpc.BiddingStub]:
    """A client of the replica, over a grpc.aio channel (after the test's Redis is empty)."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{bidding.port}") as channel:
        yield bidding_pb2_grpc.BiddingStub(channel)


@pytest.fixture
def lamp(redis_client: redis.Redis) -> str:
    """An open auction, "test-lamp", starting at 40.00, ending in 10 minutes."""
    now = now_ms()
    open_auction(redis_client, "test-lamp", "Lamp", 4_000, int(now) + 10 * MINUTE_MS, now)
    return "test-lamp"


def bid(auction_id: str, amount_cents: int, bidder: str = "alice", **more) -> object:
    return bidding_pb2.PlaceBidRequest(
        auction_id=auction_id, bidder=bidder, amount_cents=amount_cents, **more
    )


async def refused(call) -> grpc.aio.AioRpcError:
    """The error a call ended with (it must end with one)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def bids_kept(client: redis.Redis, auction_id: str) -> list[dict]:
    entries = client.xrange(gateway_keys.auction_updates(auction_id))
    updates = [json.loads(fields[b"update"]) for _id, fields in entries]
    return [u for u in updates if u["type"] == "bid"]


@integration
async def test_a_higher_bid_is_accepted_with_its_seq(
    stub, lamp: str, redis_client: redis.Redis
) -> None:
    reply = await stub.PlaceBid(bid(lamp, 5_000, trace_id="t-42"), timeout=5)
    assert (reply.accepted, reply.seq, reply.highest_cents) == (True, 2, 5_000)
    assert (reply.highest_bidder, reply.closed, reply.replayed) == ("alice", False, False)
    assert [(u["seq"], u["amount_cents"], u["trace"]) for u in bids_kept(redis_client, lamp)] == [
        (2, 5_000, "t-42")
    ]


@integration
async def test_a_lower_bid_is_aborted_with_the_current_highest(stub, lamp: str) -> None:
    """ABORTED, the highest bid in its words and in the trailing metadata."""
    await stub.PlaceBid(bid(lamp, 5_000, bidder="Zoë"), timeout=5)
    error = await refused(stub.PlaceBid(bid(lamp, 4_500, bidder="bob"), timeout=5))
    assert error.code() == grpc.StatusCode.ABORTED
    assert error.details() == "a bid of 45.00 is not higher than the highest bid, 50.00 by Zoë"
    trailer = dict(error.trailing_metadata())
    assert trailer[HIGHEST_CENTS] == "5000"
    assert trailer[HIGHEST_BIDDER] == "Zoë".encode()
    assert trailer[SEQ] == "2"
    equal = await refused(stub.PlaceBid(bid(lamp, 5_000, bidder="bob"), timeout=5))
    assert equal.code() == grpc.StatusCode.ABORTED


@integration
async def test_a_bid_on_an_unknown_auction_is_not_found(stub) -> None:
    error = await refused(stub.PlaceBid(bid("no-such-auction", 5_000), timeout=5))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-auction" in error.details()


@integration
@pytest.mark.parametrize(
    ("request_fields", "words"),
    [
        ({"amount_cents": 0}, "more than zero"),
        ({"amount_cents": -500}, "more than zero"),
        ({"amount_cents": 2**63 - 1}, "at most 1,000,000.00"),
        ({"bidder": ""}, "bidder is missing"),
        ({"bidder": "a\nb"}, "cannot be shown"),
        ({"auction_id": "Not An Id"}, "is not one"),
        ({"request_id": "x" * 65}, "request id"),
    ],
)
async def test_bad_input_is_an_invalid_argument_saying_why(
    stub, lamp: str, redis_client: redis.Redis, request_fields: dict, words: str
) -> None:
    fields = {"auction_id": lamp, "bidder": "alice", "amount_cents": 5_000} | request_fields
    error = await refused(stub.PlaceBid(bidding_pb2.PlaceBidRequest(**fields), timeout=5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in error.details()
    assert bids_kept(redis_client, lamp) == []


@integration
async def test_a_bid_on_a_closed_auction_fails_its_precondition_naming_the_winner(
    stub, redis_client: redis.Redis
) -> None:
    now = now_ms()
    open_auction(redis_client, "test-soon", "Soon over", 100, int(now) + 800, now)
    await stub.PlaceBid(bid("test-soon", 5_000), timeout=5)
    state = bidding_pb2.GetAuctionRequest(auction_id="test-soon")
    await async_wait_for(
        lambda: stub.GetAuction(state, timeout=5), "the auction closed", until=lambda s: s.closed
    )
    error = await refused(stub.PlaceBid(bid("test-soon", 9_000, bidder="bob"), timeout=5))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "auction 'test-soon' is closed: won by alice with 50.00"
    assert dict(error.trailing_metadata())[HIGHEST_CENTS] == "5000"
    closed = await stub.GetAuction(state, timeout=5)
    assert (closed.winner, closed.highest_cents) == ("alice", 5_000)


@integration
async def test_the_service_closes_an_auction_when_it_ends_saying_so_once(
    stub, redis_client: redis.Redis
) -> None:
    """Without any bid after the end, the "closed" update is in the stream, once."""
    now = now_ms()
    open_auction(redis_client, "test-ends", "Ends", 100, int(now) + 300, now)
    await stub.PlaceBid(bid("test-ends", 200), timeout=5)
    stream_key = gateway_keys.auction_updates("test-ends")

    def kinds() -> list[str]:
        entries = redis_client.xrange(stream_key)
        return [json.loads(fields[b"update"])["type"] for _id, fields in entries]

    wait_for(kinds, "the closed update", until=lambda seen: "closed" in seen)
    assert kinds() == ["opened", "bid", "closed"]


@integration
async def test_a_passed_deadline_is_deadline_exceeded_and_a_retry_bids_once(
    stub, lamp: str, redis_client: redis.Redis
) -> None:
    """Redis held up (its writes paused) past the client's deadline: DEADLINE_EXCEEDED. The
    bid may still have been placed, so a retry with the same request id is not placed twice."""
    request = bid(lamp, 5_000, request_id="retry-1")
    redis_client.client_pause(700, all=False)  # writes (and scripts) wait; reads go on
    try:
        error = await refused(stub.PlaceBid(request, timeout=0.3))
    finally:
        redis_client.client_unpause()
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    retry = await stub.PlaceBid(request, timeout=5)
    assert (retry.accepted, retry.highest_cents) == (True, 5_000)
    assert len(bids_kept(redis_client, lamp)) == 1


@integration
async def test_get_auction_answers_its_state(stub, lamp: str) -> None:
    await stub.PlaceBid(bid(lamp, 4_000), timeout=5)
    state = await stub.GetAuction(bidding_pb2.GetAuctionRequest(auction_id=lamp), timeout=5)
    assert (state.auction_id, state.title, state.start_cents) == (lamp, "Lamp", 4_000)
    assert (state.highest_cents, state.highest_bidder, state.seq) == (4_000, "alice", 2)
    assert (state.closed, state.winner) == (False, "")


@integration
@pytest.mark.parametrize(
    ("auction_id", "code"),
    [("nope", grpc.StatusCode.NOT_FOUND), ("NOPE!", grpc.StatusCode.INVALID_ARGUMENT)],
)
async def test_get_auction_refuses_unknown_and_impossible_ids(
    stub, auction_id: str, code: grpc.StatusCode
) -> None:
    request = bidding_pb2.GetAuctionRequest(auction_id=auction_id)
    assert (await refused(stub.GetAuction(request, timeout=5))).code() == code


@integration
async def test_get_auction_with_no_id_is_the_health_check(stub) -> None:
    """OK while the service reaches Redis: what a prober calls."""
    reply = await stub.GetAuction(bidding_pb2.GetAuctionRequest(), timeout=5)
    assert reply == bidding_pb2.AuctionState()


@integration
async def test_it_opens_the_demo_auctions(stub, redis_client: redis.Redis) -> None:
    """An empty Redis gets the demo's auctions back within a round of the closer."""
    request = bidding_pb2.GetAuctionRequest(auction_id="lamp")

    async def lamp_state() -> bidding_pb2.AuctionState | None:
        try:
            return await stub.GetAuction(request, timeout=5)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            return None

    state = await async_wait_for(lamp_state, "the demo's lamp", timeout=10)
    assert state.title == "Bauhaus desk lamp"


@integration
def test_sigterm_stops_it_and_takes_it_out_of_the_registry(
    redis_server: EmbeddedRedis, redis_client: redis.Redis
) -> None:
    env = command_env(REDIS_URL=redis_server.url)
    with ManagePy("bidding", "--id", "bidding-9", env=env, name="bidding-9") as process:
        process.wait_registered(redis_client, "bidding")
        process.stop(timeout=10)
        assert process.returncode == 0, process.output()
    assert lookup(redis_client, "bidding", "bidding-9") is None


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("bidding", id="bidding-1")


def test_its_id_is_required() -> None:
    with pytest.raises(CommandError, match="the following arguments are required: --id"):
        call_command("bidding")


def test_a_taken_port_is_refused_naming_it(listening_port: int) -> None:
    with pytest.raises(CommandError, match=f"port {listening_port} .* already in use"):
        call_command("bidding", id="bidding-1", port=listening_port, host="127.0.0.1")
