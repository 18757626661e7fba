"""Sending a request to a service replica: HTTP through one aiohttp ClientSession, gRPC
through one grpc.aio channel per bidding replica. Within the route's deadline, and tried
once more on another replica when pipeline.may_retry says it is safe.

An attempt either answers (the service's status and body, relayed) or fails in one of
pipeline.Failure's ways; the dispatcher turns the last failure into the gateway's own 502,
503 or 504.
"""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NamedTuple

import aiohttp
import grpc
from yarl import URL

from archviz.core.registry import Registration
from archviz.gateway import answers
from archviz.gateway.answers import Denial
from archviz.gateway.bidding import HIGHEST_BIDDER, HIGHEST_CENTS, SEQ
from archviz.gateway.bids import format_cents
from archviz.gateway.edge.pipeline import Failure, may_retry
from archviz.gateway.edge.upstreams import Identity, Upstreams, identity
from archviz.gateway.proto import bidding_pb2, bidding_pb2_grpc
from archviz.gateway.routes import Route

MAX_ANSWER_BYTES = 1024 * 1024  # a service's answer past this is refused (502)
JSON_TYPE = ("Content-Type", "application/json")
# What of a service's answer reaches the client (the rest, hop-by-hop headers first, not).
RELAYED = frozenset(
    {
        "content-type",
        "cache-control",
        "pragma",
        "x-archviz-service",
        "www-authenticate",
        "retry-after",
        "allow",
        "ratelimit",
        "ratelimit-policy",
    }
)
CHANNEL_OPTIONS = [
    ("grpc.enable_retries", 0),  # the gateway retries, once, where it is safe
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    ("grpc.max_receive_message_length", 64 * 1024),
]


class Answer(NamedTuple):
    """What a service replica answered (relayed as is, but for the headers)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    replica: str


class AttemptFailed(Exception):
    """An attempt that got no answer to relay: refused, cut off, unavailable or too late."""

    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message


# --- HTTP --------------------------------------------------------------------------------


def relayed_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in headers if k.lower() in RELAYED)


async def read_bounded(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The whole stream, or its first `limit` + 1 bytes when it is longer (a read may give
    less than asked for: it is read until its end)."""
    data = bytearray()
    while len(data) <= limit:
        chunk = await stream.read(limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def replica_url(replica: Registration, path: str) -> URL:
    """The replica's URL for a path the route table matched (so nothing in it needs quoting)."""
    return URL.build(scheme="http", host=replica.host, port=replica.port, path=path, encoded=True)


async def send_http(
    session: aiohttp.ClientSession,
    replica: Registration,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    timeout_s: float,
) -> Answer:
    """One HTTP attempt within `timeout_s`; its answer, or AttemptFailed."""
    try:
        async with asyncio.timeout(timeout_s):
            async with session.request(
                method,
                replica_url(replica, path),
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as response:
                data = await read_bounded(response.content, MAX_ANSWER_BYTES)
    except TimeoutError:
        raise AttemptFailed("deadline", f"{replica.id} did not answer in time") from None
    except aiohttp.ClientConnectorError as exc:
        raise AttemptFailed("refused", f"{replica.id} refused the connection: {exc}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise AttemptFailed("disconnected", f"{replica.id} cut the exchange off: {exc}") from None
    if len(data) > MAX_ANSWER_BYTES:
        denial = answers.bad_gateway(replica.kind, f"{replica.id}'s answer is over 1 MiB")
        return Answer(502, denial.headers, denial.json_bytes(), replica.id)
    return Answer(response.status, relayed_headers(response.headers.items()), data, replica.id)


# --- gRPC --------------------------------------------------------------------------------


def bid_reply_body(reply: bidding_pb2.PlaceBidReply, request_id: str) -> dict[str, Any]:
    """An accepted bid as the gateway answers it (JSON)."""
    return {
        "accepted": True,
        "seq": reply.seq,
        "highest_cents": reply.highest_cents,
        "highest": format_cents(reply.highest_cents),
        "highest_bidder": reply.highest_bidder,
        "ends_at_ms": reply.ends_at_ms,
        "closed": reply.closed,
        "replayed": reply.replayed,
        "request_id": request_id,
    }


def bid_refusal(
    code: grpc.StatusCode, details: str | None, trailer: Mapping[str, str | bytes]
) -> tuple[int, tuple[tuple[str, str], ...], dict[str, Any]]:
    """A refused bid as HTTP (answers.from_grpc), with the current highest bid from the
    trailing metadata when the service sent it (a 409: not higher, or closed)."""
    denial = answers.from_grpc(code, details, "bidding")
    body: dict[str, Any] = dict(denial.body)
    try:
        if HIGHEST_CENTS in trailer:
            cents = int(trailer[HIGHEST_CENTS])
            bidder = trailer.get(HIGHEST_BIDDER, b"")
            body |= {
                "highest_cents": cents,
                "highest": format_cents(cents),
                "highest_bidder": bidder.decode("utf-8", "replace")
                if isinstance(bidder, bytes)
                else bidder,
                "seq": int(trailer.get(SEQ, 0)),
            }
    except ValueError:
        pass  # a trailer that is not the service's: the words say it all the same
    return denial.status, denial.headers, body


class BiddingChannels:
    """One grpc.aio channel per bidding replica, closed when the replica is gone."""

    def __init__(self) -> None:
        self._channels: dict[Identity, grpc.aio.Channel] = {}

    def channel(self, replica: Registration) -> grpc.aio.Channel:
        key = identity(replica)
        if key not in self._channels:
            address = replica.host if ":" not in replica.host else f"[{replica.host}]"
            target = f"{address}:{replica.port}"
            self._channels[key] = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        return self._channels[key]

    def keep_only(self, replicas: Iterable[Registration]) -> None:
        """Close the channels of replicas no longer registered."""
        alive = {identity(r) for r in replicas}
        for key in [k for k in self._channels if k not in alive]:
            asyncio.get_running_loop().create_task(self._channels.pop(key).close())

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        await asyncio.gather(*(c.close() for c in channels), return_exceptions=True)

    async def place_bid(
        self, replica: Registration, request: bidding_pb2.PlaceBidRequest, timeout_s: float
    ) -> Answer:
        """One PlaceBid attempt: the accepted bid (201) or the refusal as HTTP."""
        stub = bidding_pb2_grpc.BiddingStub(self.channel(replica))
        try:
            reply = await stub.PlaceBid(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            code, details = error.code(), error.details()
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise AttemptFailed("deadline", f"{replica.id}: {details}") from None
            if code == grpc.StatusCode.UNAVAILABLE:
                raise AttemptFailed("unavailable", f"{replica.id}: {details}") from None
            status, headers, body = bid_refusal(code, details, dict(error.trailing_metadata()))
            return Answer(status, headers, json.dumps(body).encode(), replica.id)
        body = bid_reply_body(reply, request.request_id)
        return Answer(201, (JSON_TYPE,), json.dumps(body).encode(), replica.id)


# --- the attempts ------------------------------------------------------------------------

Attempt = Callable[[Registration, float], Awaitable[Answer]]
# replica, ms, the answer's status (None: no answer), the failure (None: answered), retry
Observer = Callable[[Registration, float, int | None, AttemptFailed | None, bool], None]


class Outcome(NamedTuple):
    """What dispatch came to: a service's answer, or the gateway's own denial."""

    answer: Answer | None
    denial: Denial | None
    upstream_ms: float


async def dispatch(
    upstreams: Upstreams,
    route: Route,
    attempt: Attempt,
    *,
    deadline: float,
    has_request_id: bool = False,
    observe: Observer | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Try the route's service, on one replica and, if it fails in a way that is safe to
    retry, once more on another, all before `deadline` (on `clock`)."""
    tried: list[str] = []
    waited_ms = 0.0
    failed: AttemptFailed | None = None
    while True:
        replica = upstreams.pick(route.service, exclude=tried)
        if replica is None:
            why = f"{failed.message}; no other healthy replica" if failed else ""
            return Outcome(None, answers.service_unavailable(route.service, why), waited_ms)
        remaining = deadline - clock()
        if remaining <= 0:
            return Outcome(
                None, answers.deadline_exceeded(route.service, route.deadline_ms), waited_ms
            )
        started = time.perf_counter()
        try:
            answer = await attempt(replica, remaining)
        except AttemptFailed as exc:
            failed = exc
        else:
            answer_ms = (time.perf_counter() - started) * 1000
            if observe:
                observe(replica, answer_ms, answer.status, None, bool(tried))
            return Outcome(answer, None, waited_ms + answer_ms)
        ms = (time.perf_counter() - started) * 1000
        waited_ms += ms
        if observe:
            observe(replica, ms, None, failed, bool(tried))
        if failed.failure in ("refused", "unavailable"):
            upstreams.refused(route.service, replica)
        tried.append(replica.id)
        if not may_retry(route, failed.failure, attempts=len(tried), has_request_id=has_request_id):
            return Outcome(None, _last_word(route, failed), waited_ms)


def _last_word(route: Route, failed: AttemptFailed) -> Denial:
    """The gateway's answer when no attempt answered."""
    if failed.failure == "deadline":
        return answers.deadline_exceeded(route.service, route.deadline_ms)
    if failed.failure in ("refused", "unavailable"):
        return answers.service_unavailable(route.service, failed.message)
    return answers.bad_gateway(route.service, failed.message)
