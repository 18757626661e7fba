"""What one gateway replica holds (its parts, shared by the HTTP and WebSocket handlers),
and how a request's stages are traced and answered."""

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import redis
import redis.asyncio
from aiohttp import web

from archviz.gateway import limits
from archviz.gateway.answers import Denial
from archviz.gateway.cors import CrossOrigin
from archviz.gateway.edge.credentials import Credentials
from archviz.gateway.edge.dispatch import BiddingChannels
from archviz.gateway.edge.metrics import EdgeCounts
from archviz.gateway.edge.pipeline import (
    GATEWAY_HEADER,
    TRACE_HEADER,
    Timeline,
    server_timing,
    verdict,
)
from archviz.gateway.edge.upstreams import Upstreams
from archviz.gateway.edge.watchers import Hub
from archviz.gateway.routes import ROUTES, RateClass, Route
from archviz.trace.emitter import Emitter

log = logging.getLogger(__name__)
T = TypeVar("T")
DEMO = "gateway"


@dataclass
class Gateway:
    """One replica's parts. `session` is made once the event loop runs."""

    replica: str
    trace: Emitter
    client: Callable[[], redis.Redis]  # short commands: rate limits, auctions
    credentials: Credentials
    upstreams: Upstreams
    hub: Hub
    counts: EdgeCounts = field(default_factory=EdgeCounts)
    bidding: BiddingChannels = field(default_factory=BiddingChannels)
    session: aiohttp.ClientSession | None = None
    sockets: set[web.WebSocketResponse] = field(default_factory=set)
    routes: tuple[Route, ...] = ROUTES  # the table (a test may shorten its deadlines)
    cors: CrossOrigin = field(default_factory=CrossOrigin)  # the pages granted CORS
    # the rate limits in force, an instructor's overrides included (policies.follow)
    policies: dict[RateClass, limits.Policy] = field(default_factory=lambda: dict(limits.POLICIES))
    # the rate limiter's client, on the loop: a thread per check cost more than the check
    limiter: redis.asyncio.Redis | None = None

    async def in_thread(self, call: Callable[..., T], *args: Any) -> T:
        """`call(client, *args)` off the event loop (the client's short timeout bounds it)."""
        return await asyncio.to_thread(call, self.client(), *args)

    async def rate_limit(self, rate_class: RateClass, who: str) -> limits.Verdict | None:
        """One token from the consumer's bucket; None when Redis cannot say. Then the
        request passes (fail open, as Envoy's and Kong's limiters do by default): the key
        ring goes stale and refuses everything within seconds anyway."""
        assert self.limiter is not None  # made by build()
        try:
            policy = self.policies[rate_class]
            return await limits.check_async(self.limiter, rate_class, who, policy=policy)
        except redis.RedisError as exc:
            self.counts.limiter_errors += 1
            log.debug("gateway: rate limiter unreachable, letting %s pass: %s", who, exc)
            return None


class Stages:
    """One request's trace: each stage an event with its time, under one trace id."""

    def __init__(self, gateway: Gateway, trace: str, timeline: Timeline, route: str = "") -> None:
        self.gateway = gateway
        self.trace = trace
        self.timeline = timeline
        self.route = route
        self.consumer = ""
        self.error = ""  # the token's error code, when it was refused
        self.upstream_ms: float | None = None

    def emit(
        self, kind: str, dst: str, *, ok: bool = True, ms: float | None = None, **detail: Any
    ) -> None:
        detail = {"route": self.route, **detail}
        if self.consumer:
            detail["consumer"] = self.consumer
        self.gateway.trace.emit(kind, dst, trace=self.trace, demo=DEMO, ok=ok, ms=ms, detail=detail)

    def stage(self, name: str, *, ok: bool = True, dst: str = "", **detail: Any) -> None:
        """The stage that just ended: `gateway.<name>`, timed since the previous one."""
        self.emit(
            f"gateway.{name}", dst or self.gateway.replica, ok=ok, ms=self.timeline.lap(), **detail
        )

    def deny(self, stage: str, denial: Denial) -> None:
        detail = {
            "stage": stage,
            "status": denial.status,
            "verdict": verdict(denial.status),
            "error": denial.body.get("error", ""),
        }
        if self.error:
            detail["token_error"] = self.error
        self.emit("gateway.deny", "client", ok=False, **detail)

    def headers(self) -> list[tuple[str, str]]:
        """What every answer carries: the trace id, this replica, and the time split."""
        timing = server_timing(self.timeline.gateway_ms(), self.upstream_ms)
        return [
            (TRACE_HEADER, self.trace),
            (GATEWAY_HEADER, self.gateway.replica),
            ("Server-Timing", timing),
        ]

    def answered(self, status: int, *, denied: bool) -> None:
        """The response event, and the replica's counts."""
        gateway_ms = self.timeline.gateway_ms()
        self.emit(
            "gateway.response",
            "client",
            ok=status < 400,
            ms=self.timeline.total_ms(),
            status=status,
            verdict=verdict(status),
            gateway_ms=round(gateway_ms, 3),
            upstream_ms=None if self.upstream_ms is None else round(self.upstream_ms, 3),
        )
        self.gateway.counts.answered(verdict(status), denied=denied, error=self.error)


def respond(
    stages: Stages, status: int, headers: Iterable[tuple[str, str]], body: bytes, *, denied: bool
) -> web.Response:
    """The answer to the client, with the gateway's headers, traced and counted."""
    response = web.Response(status=status, body=body)
    for name, value in headers:
        response.headers.add(name, value)
    for name, value in stages.headers():
        response.headers[name] = value
    stages.answered(status, denied=denied)
    return response


def refuse(
    stages: Stages, stage: str, denial: Denial, extra: Iterable[tuple[str, str]] = ()
) -> web.Response:
    """A stage's refusal, answered by the gateway itself."""
    stages.deny(stage, denial)
    return respond(
        stages, denial.status, [*denial.headers, *extra], denial.json_bytes(), denied=True
    )
