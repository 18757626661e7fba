"""The bidding service: bidding.proto's Bidding served on grpc.aio, over auction.py.

Redis is called off the event loop (asyncio.to_thread, with the process's pooled client and
its short timeout), within the client's deadline (context.time_remaining()). Refusals are
gRPC statuses (see bidding.proto); `refusal` chooses them, in pure code.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import grpc
import redis

from archviz.core.redis_conn import shared_client
from archviz.core.registry import Metrics
from archviz.core.runner import Component
from archviz.gateway import auction
from archviz.gateway import keys as gateway_keys
from archviz.gateway.auction import BidResult
from archviz.gateway.bids import InvalidBid, check_auction_id, format_cents
from archviz.gateway.proto import bidding_pb2, bidding_pb2_grpc
from archviz.trace.emitter import Emitter
from archviz.trace.events import now_ms

log = logging.getLogger(__name__)

T = TypeVar("T")
HIGHEST_CENTS = "archviz-highest-cents"  # trailing metadata of a refusal
HIGHEST_BIDDER = "archviz-highest-bidder-bin"  # -bin: UTF-8 bytes (plain values are ASCII)
SEQ = "archviz-seq"
DEFAULT_DEADLINE_S = 5.0  # for a call that sets none: nothing waits on Redis forever
MIN_TIME_S = 0.002  # with less left than this, a Redis round trip cannot answer in time
CLOSE_EVERY_S = 0.5  # how often a replica closes due auctions and reopens rested ones
GRACE_S = 1.0  # for calls in flight when the service stops
MAX_CONCURRENT_RPCS = 256  # past that a call is refused at once with RESOURCE_EXHAUSTED
MAX_MESSAGE_BYTES = 64 * 1024  # a bid is a few dozen bytes
SERVER_OPTIONS = [
    ("grpc.so_reuseport", 0),  # gRPC's default shares a taken port: fail instead
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]


class Refusal(NamedTuple):
    """A gRPC status for a bid Redis did not accept, with the current highest bid."""

    code: grpc.StatusCode
    message: str
    metadata: tuple[tuple[str, str | bytes], ...] = ()


def refusal(result: BidResult, auction_id: str, amount_cents: int) -> Refusal | None:
    """The status that answers a bid's result; None when it was accepted (pure)."""
    if result.outcome in ("accepted", "replayed"):
        return None
    if result.outcome == "unknown":
        return Refusal(grpc.StatusCode.NOT_FOUND, f"there is no auction {auction_id!r}")
    highest = format_cents(result.highest_cents)
    metadata = (
        (HIGHEST_CENTS, str(result.highest_cents)),
        (HIGHEST_BIDDER, result.bidder.encode()),
        (SEQ, str(result.seq)),
    )
    if result.outcome == "closed":
        won = f"won by {result.bidder} with {highest}" if result.bidder else "nobody bid"
        return Refusal(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"auction {auction_id!r} is closed: {won}",
            metadata,
        )
    bid = format_cents(amount_cents)
    if result.highest_cents == 0:
        why = f"is under the starting price, {format_cents(result.start_cents)}"
    else:
        why = f"is not higher than the highest bid, {highest} by {result.bidder}"
    return Refusal(grpc.StatusCode.ABORTED, f"a bid of {bid} {why}", metadata)


@dataclass
class BidCounts:
    """What this replica answered, for its metrics (updated on the event loop only)."""

    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # by status code name
    in_flight: int = 0

    def refuse(self, code: grpc.StatusCode) -> None:
        self.refused[code.name] = self.refused.get(code.name, 0) + 1


class BiddingService(bidding_pb2_grpc.BiddingServicer):
    """PlaceBid and GetAuction over auction.py; one per replica."""

    def __init__(
        self,
        name: str,
        trace: Emitter,
        client: Callable[[], redis.Redis] = shared_client,
        clock: Callable[[], float] = now_ms,
    ) -> None:
        self.name = name
        self.trace = trace
        self.counts = BidCounts()
        self._client = client
        self._clock = clock

    async def PlaceBid(
        self, request: bidding_pb2.PlaceBidRequest, context: grpc.aio.ServicerContext
    ) -> bidding_pb2.PlaceBidReply:
        """Place a bid, or abort with the status that says why not (bidding.proto)."""
        self.counts.in_flight += 1
        try:
            return await self._place(request, context)
        finally:
            self.counts.in_flight -= 1

    async def _place(
        self, request: bidding_pb2.PlaceBidRequest, context: grpc.aio.ServicerContext
    ) -> bidding_pb2.PlaceBidReply:
        now = self._clock()
        try:
            result = await self._in_time(
                context, auction.place_bid, self._client(), request.auction_id, request.bidder,
                request.amount_cents, now, request_id=request.request_id, trace=request.trace_id,
            )  # fmt: skip
        except InvalidBid as exc:
            await self._abort(context, Refusal(grpc.StatusCode.INVALID_ARGUMENT, str(exc)))
        if refused := refusal(result, request.auction_id, request.amount_cents):
            await self._abort(context, refused)
        self.counts.accepted += 1
        if result.outcome == "accepted":
            self._traced(request.auction_id, result, request.trace_id)
        return bidding_pb2.PlaceBidReply(
            accepted=True,
            seq=result.seq,
            highest_cents=result.highest_cents,
            highest_bidder=result.bidder,
            ends_at_ms=result.ends_at_ms,
            closed=now >= result.ends_at_ms,
            replayed=result.outcome == "replayed",
        )

    async def GetAuction(
        self, request: bidding_pb2.GetAuctionRequest, context: grpc.aio.ServicerContext
    ) -> bidding_pb2.AuctionState:
        """One auction's state; with no id, the health check (Redis answers: OK)."""
        if not request.auction_id:
            await self._in_time(context, self._client().ping)
            return bidding_pb2.AuctionState()
        try:
            check_auction_id(request.auction_id)
        except InvalidBid as exc:
            await self._abort(context, Refusal(grpc.StatusCode.INVALID_ARGUMENT, str(exc)))
        found = await self._in_time(
            context, auction.read_auction, self._client(), request.auction_id
        )
        if found is None:
            message = f"there is no auction {request.auction_id!r}"
            await self._abort(context, Refusal(grpc.StatusCode.NOT_FOUND, message))
        return state_message(found, self._clock())

    async def _in_time(
        self, context: grpc.aio.ServicerContext, call: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """`call` in a thread, within the client's deadline; Redis away is UNAVAILABLE."""
        remaining = context.time_remaining()
        limit = DEFAULT_DEADLINE_S if remaining is None else min(remaining, DEFAULT_DEADLINE_S)
        if limit < MIN_TIME_S:
            await self._abort(context, _too_late("the deadline had passed before Redis was asked"))
        try:
            async with asyncio.timeout(limit):
                return await asyncio.to_thread(call, *args, **kwargs)
        except TimeoutError:
            await self._abort(context, _too_late("the deadline passed while Redis answered"))
        except redis.RedisError as exc:
            message = f"the bidding service cannot reach Redis: {exc}"
            await self._abort(context, Refusal(grpc.StatusCode.UNAVAILABLE, message))
        raise AssertionError("unreachable: abort raises")

    async def _abort(self, context: grpc.aio.ServicerContext, refused: Refusal) -> None:
        """End the call with `refused`'s status (this raises, as context.abort does)."""
        self.counts.refuse(refused.code)
        await context.abort(refused.code, refused.message, trailing_metadata=refused.metadata)

    def _traced(self, auction_id: str, result: BidResult, trace_id: str) -> None:
        """An accepted bid was published on its auction's channel: show it."""
        detail = {"channel": gateway_keys.auction_channel(auction_id), "seq": result.seq,
                  "amount_cents": result.highest_cents, "bidder": result.bidder}  # fmt: skip
        self.trace.emit("pubsub.publish", "redis", trace=trace_id or None, demo="gateway",
                        detail=detail)  # fmt: skip

    def metrics(self, running: Component) -> Metrics:
        """For the heartbeat: the calls in flight and what was answered."""
        running.counters.requests_total = self.counts.accepted + sum(self.counts.refused.values())
        return running.metrics(
            connections=self.counts.in_flight,
            rps=running.counters.requests_per_second(),
            extra={"accepted": self.counts.accepted, "refused": dict(self.counts.refused)},
        )


def _too_late(message: str) -> Refusal:
    return Refusal(grpc.StatusCode.DEADLINE_EXCEEDED, message)


def state_message(found: auction.Auction, now: float) -> bidding_pb2.AuctionState:
    """An auction as GetAuction answers it."""
    return bidding_pb2.AuctionState(
        auction_id=found.id,
        title=found.title,
        start_cents=found.start_cents,
        highest_cents=found.highest_cents,
        highest_bidder=found.bidder,
        seq=found.seq,
        ends_at_ms=found.ends_at_ms,
        closed=found.closed(now),
        winner=found.winner(now),
    )


def grpc_address(host: str, port: int) -> str:
    """host:port as gRPC spells it ([::1]:port for an IPv6 address)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class CannotListen(Exception):
    """The service's port could not be bound."""


async def serve(running: Component, stop: asyncio.Event, *, host: str, port: int) -> None:
    """Serve the Bidding service on host:port (0: a free one) until `stop` is set: open the
    demo's auctions, register with the port bound, and close auctions as they end."""
    service = BiddingService(running.id, running.trace)
    server = grpc.aio.server(options=SERVER_OPTIONS, maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS)
    bidding_pb2_grpc.add_BiddingServicer_to_server(service, server)
    bound = bind_port(server, host, port)
    await server.start()
    await _keep_auctions(running.trace, log_errors=True)
    running.beat(lambda: service.metrics(running), port=bound, host=host)
    log.info("%s: serving gRPC Bidding on %s", running.id, grpc_address(host, bound))
    closer = asyncio.create_task(_close_auctions(running.trace, stop))
    try:
        await stop.wait()
    finally:
        closer.cancel()
        await server.stop(GRACE_S)


def bind_port(server: grpc.aio.Server, host: str, port: int) -> int:
    """Bind the server to host:port (0: a free one); the port bound."""
    try:
        bound = server.add_insecure_port(grpc_address(host, port))
    except RuntimeError as exc:  # grpcio raises, older ones returned 0
        raise CannotListen(f"cannot listen on {grpc_address(host, port)}: {exc}") from None
    if not bound:
        raise CannotListen(f"cannot listen on {grpc_address(host, port)}")
    return bound


async def _close_auctions(trace: Emitter, stop: asyncio.Event) -> None:
    """Close the auctions that ended and reopen the demo's rested ones, until stopped."""
    failing = False
    while not stop.is_set():
        ok = await _keep_auctions(trace, log_errors=not failing)
        failing = not ok
        try:
            async with asyncio.timeout(CLOSE_EVERY_S):
                await stop.wait()
        except TimeoutError:
            pass


async def _keep_auctions(trace: Emitter, *, log_errors: bool) -> bool:
    """One round of closing and reopening; False if Redis could not be reached."""
    try:
        closed = await asyncio.to_thread(_close_and_reopen, shared_client())
    except redis.RedisError as exc:
        if log_errors:
            log.warning("could not close or open auctions (will retry): %s", exc)
        return False
    for auction_id in closed:
        channel = gateway_keys.auction_channel(auction_id)
        trace.emit("pubsub.publish", "redis", demo="gateway",
                   detail={"channel": channel, "update": "closed"})  # fmt: skip
    return True


def _close_and_reopen(client: redis.Redis) -> Sequence[str]:
    now = now_ms()
    closed = auction.close_due(client, now)
    auction.open_demo(client, now)
    return closed
