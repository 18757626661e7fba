"""Dispatching to a service replica: the retry rules over stand-in attempts, one HTTP attempt
against servers that refuse, hang up, stall or answer too much, and a bid over gRPC to the
real bidding service in process (retried on another replica when the first is gone)."""

import asyncio
import json
import os
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import grpc
import pytest
import redis

from archviz.core.registry import Registration
from archviz.gateway.auction import open_auction
from archviz.gateway.bidding import HIGHEST_BIDDER, HIGHEST_CENTS, SEQ, BiddingService
from archviz.gateway.edge import dispatch
from archviz.gateway.edge.dispatch import (
    MAX_ANSWER_BYTES,
    Answer,
    AttemptFailed,
    BiddingChannels,
    bid_refusal,
    bid_reply_body,
    send_http,
)
from archviz.gateway.edge.upstreams import Upstreams
from archviz.gateway.proto import bidding_pb2, bidding_pb2_grpc
from archviz.gateway.routes import ROUTES
from archviz.trace.emitter import Emitter
from archviz.trace.events import now_ms

ROUTE = {route.name: route for route in ROUTES}


def replica(component_id: str, port: int = 9, kind: str = "catalog") -> Registration:
    return Registration(component_id, kind, os.getpid(), "127.0.0.1", port, 0.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- gRPC answers as HTTP ------------------------------------------------------------------


def test_an_accepted_bid_is_its_seq_and_the_highest() -> None:
    reply = bidding_pb2.PlaceBidReply(
        accepted=True, seq=4, highest_cents=12_345, highest_bidder="Zoë", ends_at_ms=7
    )
    body = bid_reply_body(reply, "r-1")
    assert body == {
        "accepted": True,
        "seq": 4,
        "highest_cents": 12_345,
        "highest": "123.45",
        "highest_bidder": "Zoë",
        "ends_at_ms": 7,
        "closed": False,
        "replayed": False,
        "request_id": "r-1",
    }


def test_a_bid_not_higher_is_a_409_with_the_highest_from_the_trailer() -> None:
    trailer = {HIGHEST_CENTS: "5000", HIGHEST_BIDDER: "Zoë".encode(), SEQ: "2"}
    status, _, body = bid_refusal(grpc.StatusCode.ABORTED, "not higher", trailer)
    assert status == 409
    assert body == {
        "error": "aborted",
        "message": "not higher",
        "service": "bidding",
        "highest_cents": 5_000,
        "highest": "50.00",
        "highest_bidder": "Zoë",
        "seq": 2,
    }


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.INTERNAL, 502),
    ],
)
def test_other_refusals_keep_their_words(code: grpc.StatusCode, status: int) -> None:
    got, _, body = bid_refusal(code, "why", {})
    assert (got, body["message"], "highest_cents" in body) == (status, "why", False)


def test_a_trailer_that_is_not_the_services_is_left_out() -> None:
    _, _, body = bid_refusal(grpc.StatusCode.ABORTED, "x", {HIGHEST_CENTS: "lots"})
    assert "highest_cents" not in body


# --- the retry rules -------------------------------------------------------------------------


def upstreams(*replicas: Registration) -> Upstreams:
    found = {"catalog": list(replicas), "auth": [], "bidding": []}
    made = Upstreams(lambda kind: found[kind], clock=time.monotonic)
    for kind, listed in found.items():
        made.sets[kind].replace(listed)
    return made


class Script:
    """Attempts that fail, per replica, as the test says; the others answer 200."""

    def __init__(self, **failures: str) -> None:
        self.failures = failures
        self.tried: list[str] = []
        self.observed: list[tuple[str, int | None, str | None, bool]] = []

    async def attempt(self, replica: Registration, timeout_s: float) -> Answer:
        self.tried.append(replica.id)
        if failure := self.failures.get(replica.id.replace("-", "_")):
            raise AttemptFailed(failure, f"{replica.id} {failure}")
        return Answer(200, (), b"{}", replica.id)

    def observe(self, replica, ms, status, failed, retry) -> None:
        self.observed.append((replica.id, status, failed and failed.failure, retry))


async def run(script: Script, pool: Upstreams, route: str = "catalog.list", **kwargs):
    deadline = time.monotonic() + 5
    return await dispatch.dispatch(
        pool, ROUTE[route], script.attempt, deadline=deadline, observe=script.observe, **kwargs
    )


async def test_an_answer_is_relayed_after_one_attempt() -> None:
    script = Script()
    outcome = await run(script, upstreams(replica("catalog-1")))
    assert (outcome.answer.status, outcome.denial) == (200, None)
    assert outcome.upstream_ms >= 0
    assert script.observed == [("catalog-1", 200, None, False)]


async def test_a_refused_connection_is_retried_on_another_replica_and_skipped() -> None:
    pool = upstreams(replica("catalog-1"), replica("catalog-2"))
    script = Script(catalog_1="refused", catalog_2="refused")
    script.failures.pop("catalog_2")
    for _ in range(2):
        await run(script, pool)
    assert script.tried[-1] == "catalog-2"
    assert [r.id for r in pool.healthy("catalog")] == ["catalog-2"]


@pytest.mark.parametrize(("route", "retried"), [("catalog.list", True), ("auth.token", False)])
async def test_a_cut_off_exchange_is_retried_only_for_an_idempotent_route(route, retried) -> None:
    pool = upstreams(replica("catalog-1"), replica("catalog-2"))
    pool.sets["auth"].replace([replica("auth-1", kind="auth"), replica("auth-2", kind="auth")])
    script = Script(
        catalog_1="disconnected",
        catalog_2="disconnected",
        auth_1="disconnected",
        auth_2="disconnected",
    )
    outcome = await run(script, pool, route)
    assert len(script.tried) == (2 if retried else 1)
    assert (outcome.denial.status, outcome.denial.body["error"]) == (502, "bad_gateway")


async def test_a_bid_that_names_itself_is_retried_after_a_cut_off_exchange() -> None:
    pool = upstreams()
    pool.sets["bidding"].replace(
        [replica("bidding-1", kind="bidding"), replica("bidding-2", kind="bidding")]
    )
    script = Script(bidding_1="disconnected", bidding_2="disconnected")
    await run(script, pool, "bidding.place", has_request_id=True)
    assert len(script.tried) == 2
    assert [retry for *_, retry in script.observed] == [False, True]


async def test_a_passed_deadline_is_a_504_and_not_retried() -> None:
    script = Script(catalog_1="deadline", catalog_2="deadline")
    outcome = await run(script, upstreams(replica("catalog-1"), replica("catalog-2")))
    assert len(script.tried) == 1
    assert (outcome.denial.status, outcome.denial.body["service"]) == (504, "catalog")


async def test_two_unavailable_replicas_are_a_503_saying_what_happened() -> None:
    script = Script(catalog_1="unavailable", catalog_2="unavailable")
    outcome = await run(script, upstreams(replica("catalog-1"), replica("catalog-2")))
    assert script.observed[1][3] is True  # the second attempt was the retry
    assert outcome.denial.status == 503
    assert "unavailable" in outcome.denial.body["message"]


async def test_one_refusing_replica_and_no_other_is_a_503() -> None:
    script = Script(catalog_1="refused")
    outcome = await run(script, upstreams(replica("catalog-1")))
    assert outcome.denial.status == 503
    assert "no other healthy replica" in outcome.denial.body["message"]


async def test_no_replica_at_all_is_a_503_naming_the_service() -> None:
    outcome = await run(Script(), upstreams())
    assert (outcome.denial.status, outcome.denial.body["service"]) == (503, "catalog")


async def test_a_deadline_already_passed_asks_no_replica() -> None:
    script = Script()
    outcome = await dispatch.dispatch(
        upstreams(replica("catalog-1")),
        ROUTE["catalog.list"],
        script.attempt,
        deadline=time.monotonic() - 1,
    )
    assert (outcome.denial.status, script.tried) == (504, [])


# --- one HTTP attempt ------------------------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as made:
        yield made


async def serving(handle) -> tuple[asyncio.base_events.Server, Registration]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, replica("catalog-9", server.sockets[0].getsockname()[1])


async def test_a_closed_port_is_refused(session: aiohttp.ClientSession) -> None:
    with pytest.raises(AttemptFailed) as failed:
        await send_http(session, replica("catalog-9", closed_port()), "GET", "/x", {}, b"", 1)
    assert failed.value.failure == "refused"


async def test_a_replica_that_hangs_up_is_disconnected(session: aiohttp.ClientSession) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server, target = await serving(hang_up)
    with pytest.raises(AttemptFailed) as failed:
        await send_http(session, target, "GET", "/x", {}, b"", 2)
    server.close()
    assert failed.value.failure == "disconnected"


async def test_a_replica_that_stalls_is_past_the_deadline(session: aiohttp.ClientSession) -> None:
    held = []

    async def stall(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server, target = await serving(stall)
    with pytest.raises(AttemptFailed) as failed:
        await send_http(session, target, "GET", "/x", {}, b"", 0.2)
    server.close()
    assert failed.value.failure == "deadline"


async def test_only_the_services_own_headers_are_relayed_and_a_huge_answer_is_a_502(
    session: aiohttp.ClientSession,
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        size = MAX_ANSWER_BYTES + 1 if b"/huge" in head else 2
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=b\r\n"
            b"X-Archviz-Service: catalog-9\r\nConnection: close\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode()
            + b"{}".ljust(size)
        )
        await writer.drain()
        writer.close()

    server, target = await serving(answer)
    small = await send_http(session, target, "GET", "/small", {}, b"", 2)
    huge = await send_http(session, target, "GET", "/huge", {}, b"", 2)
    server.close()
    assert dict(small.headers) == {
        "Content-Type": "application/json",
        "X-Archviz-Service": "catalog-9",
    }
    assert (huge.status, json.loads(huge.body)["error"]) == (502, "bad_gateway")


# --- a bid over gRPC to the real service ------------------------------------------------------


@pytest.fixture
async def bidding_port(redis_client: redis.Redis) -> AsyncIterator[int]:
    """bidding.py's service on a grpc.aio server in this process, with an open auction."""
    now = now_ms()
    open_auction(redis_client, "test-lamp", "Lamp", 4_000, int(now) + 600_000, now)
    service = BiddingService(
        "bidding-1",
        Emitter("bidding-1", client_factory=lambda: redis_client),
        client=lambda: redis_client,
    )
    server = grpc.aio.server()
    bidding_pb2_grpc.add_BiddingServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield port
    await server.stop(0)


async def test_a_bid_to_a_gone_replica_is_placed_on_the_other_once(bidding_port: int) -> None:
    """bidding-0's port is closed: UNAVAILABLE, skipped, retried on bidding-1 with the same
    request id; the answer is the accepted bid."""
    pool = upstreams()
    pool.sets["bidding"].replace(
        [
            replica("bidding-0", closed_port(), "bidding"),
            replica("bidding-1", bidding_port, "bidding"),
        ]
    )
    channels = BiddingChannels()
    request = bidding_pb2.PlaceBidRequest(
        auction_id="test-lamp", bidder="alice", amount_cents=5_000, request_id="r-42"
    )

    async def place(target: Registration, timeout_s: float) -> Answer:
        return await channels.place_bid(target, request, timeout_s)

    try:
        for _ in range(2):  # the second time, whichever replica is first, the same answer
            outcome = await dispatch.dispatch(
                pool,
                ROUTE["bidding.place"],
                place,
                deadline=time.monotonic() + 2,
                has_request_id=True,
            )
            body = json.loads(outcome.answer.body)
            assert (outcome.answer.status, outcome.answer.replica) == (201, "bidding-1")
            assert (body["seq"], body["highest_cents"], body["request_id"]) == (2, 5_000, "r-42")
        assert body["replayed"] is True
        assert [r.id for r in pool.healthy("bidding")] == ["bidding-1"]
    finally:
        await channels.close()


async def test_a_lower_bid_over_grpc_is_a_409_with_the_highest(bidding_port: int) -> None:
    channels = BiddingChannels()
    target = replica("bidding-1", bidding_port, "bidding")
    try:
        for bidder, cents in (("alice", 5_000), ("bob", 4_500)):
            request = bidding_pb2.PlaceBidRequest(
                auction_id="test-lamp", bidder=bidder, amount_cents=cents
            )
            answer = await channels.place_bid(target, request, 2)
        body = json.loads(answer.body)
        assert (answer.status, body["highest_cents"], body["highest_bidder"]) == (
            409,
            5_000,
            "alice",
        )
        assert channels.channel(target) is channels.channel(target)  # one per replica
        channels.keep_only([])
        assert channels.channel(target) is not None
    finally:
        await channels.close()
