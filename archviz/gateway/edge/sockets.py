"""The auction WebSocket, `/ws/auctions/<id>/?after=<seq>`, served by the replica itself.

Its token comes in the handshake (`Sec-WebSocket-Protocol: bearer, <token>`: refused with
the HTTP denials, 401, 403, 429, before the upgrade) or as the first message
`{"type": "auth", "token": ...}` within the route's deadline (refused by closing with
TOKEN_REFUSED, 1013 when the key ring cannot be trusted, FLOODING past the rate limit).
Then: `welcome` with the auction's state, every update after `after` (or a `resync` with
the current state when the stream no longer holds them), then live `update`s in seq order,
each once. The client may send `{"type": "ping"}` (answered `pong`), at most FRAMES_PER_S.

A socket is closed with TOKEN_EXPIRED when its token expires, TOKEN_REVOKED when an
instructor takes it back, TOO_SLOW when its outbox overflows and FLOODING when it sends too
much. A page may open one only from a registered dashboard's origin, as the nodes' sockets
(core.origin_validator.PageOriginValidator): the token is what lets a page watch, and the
Origin rule keeps other sites' pages from opening sockets through a learner's browser at
all. No Origin: a program (the bots, the benchmarks), which could send any Origin anyway.
"""

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import jwt
import redis
from aiohttp import WSMsgType, web

from archviz.core import close_codes
from archviz.core.ratelimit import TokenBucket
from archviz.gateway import answers, auction, cors
from archviz.gateway.bearer import SUBPROTOCOL, bearer_from_first_message, bearer_from_subprotocols
from archviz.gateway.edge import pipeline
from archviz.gateway.edge.pipeline import Ended, token_ended
from archviz.gateway.edge.state import Gateway, Stages, refuse
from archviz.gateway.edge.watchers import (
    CatchUp,
    Live,
    PongFrame,
    Watcher,
    WelcomeFrame,
    catch_up,
    place,
)
from archviz.gateway.routes import Match, Route
from archviz.gateway.signing_keys import KeysUnavailable
from archviz.gateway.tokens import Claims, TokenError
from archviz.trace.events import now_ms

log = logging.getLogger(__name__)

HEARTBEAT_S = 20.0  # aiohttp pings the client; a dead one is dropped after that
CLOSE_S = 1.0  # the close handshake's limit, then the connection is cut
MAX_MESSAGE_BYTES = 8 * 1024  # the auth message is the largest a client sends
FRAMES_PER_S = 5
FRAMES_BURST = 20
TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 (aiohttp, unlike daphne, can send it)
INTERNAL_ERROR = 1011
# Bytes a socket may have waiting in its transport and still be written to by the hub at
# once: well under the transport's high-water mark, so such a write never waits to drain.
STRAIGHT_BUFFER_BYTES = 16 * 1024


def check_tokens(gateway: Gateway) -> None:
    """End every open watcher whose token no longer holds (run on each credentials tick)."""
    follower = gateway.credentials.follower
    now = gateway.credentials.now()
    for watcher in gateway.hub.all():
        ended = token_ended(watcher.claims, watcher.kid, follower.keys, follower.revocations, now)
        if ended is not None:
            watcher.end(ended)


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token).get("kid", ""))


async def watch(
    request: web.Request, gateway: Gateway, found: Match, stages: Stages
) -> web.StreamResponse:
    """Check what can be checked before the upgrade, upgrade, then serve the watcher."""
    route, auction_id = found.route, found.params["id"]
    # Offered `bearer` (the one subprotocol served) so that aiohttp does not warn that the
    # client's list, token and all, does not overlap: a token must never reach a log.
    if not web.WebSocketResponse(protocols=(SUBPROTOCOL,)).can_prepare(request).ok:
        denial = answers.bad_request(f"{route.pattern} is a WebSocket: open it as one")
        return refuse(stages, "route", denial)
    origin = request.headers.get("Origin")
    if not gateway.cors.allows(origin):
        gateway.cors.refused += 1
        return refuse(stages, "origin", cors.origin_refused(origin or ""))
    try:
        after = pipeline.parse_after(request.query.get("after"))
        offered = bearer_from_subprotocols(request.headers.get("Sec-WebSocket-Protocol"))
    except ValueError as exc:  # TokenError is not one: it is caught below
        return refuse(stages, "route", answers.bad_request(str(exc)))
    except TokenError as exc:
        stages.error = exc.error
        return refuse(stages, "authenticate", answers.unauthorized(exc.error, exc.message))
    try:
        exists = await gateway.in_thread(auction.read_auction, auction_id)
    except redis.RedisError:
        return refuse(stages, "route", answers.service_unavailable("redis", "Redis is away"))
    if exists is None:
        return refuse(stages, "route", answers.not_found(request.path))
    stages.stage("route", auction=auction_id)
    claims = kid = None
    if offered is not None:
        checked = await _admit(gateway, stages, route, request, offered.token)
        if isinstance(checked, web.Response):
            return checked
        claims, kid = checked, _kid(offered.token)
    ws = web.WebSocketResponse(
        protocols=(SUBPROTOCOL,) if offered else (),
        timeout=CLOSE_S,
        heartbeat=HEARTBEAT_S,
        max_msg_size=MAX_MESSAGE_BYTES,
    )
    await ws.prepare(request)
    stages.answered(101, denied=False)
    await AuctionSocket(gateway, ws, stages, route, auction_id, after).serve(request, claims, kid)
    return ws


async def _admit(
    gateway: Gateway, stages: Stages, route: Route, request: web.Request, token: str
) -> Claims | web.Response:
    """Authenticate, authorise and rate-limit a token offered in the handshake: its claims,
    or the HTTP refusal."""
    checked = await _check_token(gateway, stages, route, token, request.remote or "")
    if isinstance(checked, tuple):
        return refuse(stages, *checked)
    return checked


async def _check_token(
    gateway: Gateway, stages: Stages, route: Route, token: str, address: str
) -> Claims | tuple[str, answers.Denial]:
    """The stages authenticate, authorise and limit for a socket's token."""
    try:
        claims = await gateway.credentials.verify_fresh(token)
    except TokenError as exc:
        stages.error = exc.error
        stages.stage("authenticate", ok=False, error=exc.error)
        return "authenticate", answers.unauthorized(exc.error, exc.message)
    except KeysUnavailable as exc:
        stages.error = "keys_unavailable"
        stages.stage("authenticate", ok=False, error=stages.error)
        return "authenticate", answers.service_unavailable("auth", str(exc))
    stages.consumer = pipeline.consumer(claims, address)
    stages.stage("authenticate", sub=claims["sub"], role=claims["role"])
    if denial := pipeline.authorise(route, claims):
        stages.stage("authorise", ok=False)
        return "authorise", denial
    stages.stage("authorise")
    verdict = await gateway.rate_limit(route.rate_class, stages.consumer)
    stages.stage("limit", ok=verdict is None or verdict.allowed, dst="redis")
    if verdict is not None and not verdict.allowed:
        return "limit", verdict.denial()
    return claims


class AuctionSocket:
    """One upgraded socket: authenticate (if the handshake did not), join the hub, welcome
    and catch up, then pump live updates until it closes."""

    def __init__(
        self,
        gateway: Gateway,
        ws: web.WebSocketResponse,
        stages: Stages,
        route: Route,
        auction_id: str,
        after: int | None,
    ) -> None:
        self.gateway = gateway
        self.ws = ws
        self.stages = stages
        self.route = route
        self.auction = auction_id
        self.after = after
        self.opened = time.monotonic()
        self._pump: asyncio.Task | None = None
        self._closing: asyncio.Task | None = None
        self._ended: Ended | None = None

    async def serve(self, request: web.Request, claims: Claims | None, kid: str | None) -> None:
        self.gateway.sockets.add(self.ws)
        try:
            if claims is None:
                admitted = await self._first_message(request.remote or "")
                if admitted is None:
                    return
                claims, kid = admitted
            await self._watch(Watcher(self.auction, claims, kid or ""), request.transport)
        finally:
            self.gateway.sockets.discard(self.ws)
            if self._closing is not None:
                await asyncio.shield(self._closing)
            self._traced_close()

    async def _first_message(self, address: str) -> tuple[Claims, str] | None:
        """The token of the first message, checked; None when the socket was closed."""
        try:
            message = await self.ws.receive(timeout=self.route.deadline_ms / 1000)
        except TimeoutError:
            return await self._refused(TokenError("missing", "no token in time"))
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return None  # closed before it said anything
        try:
            token = bearer_from_first_message(message.data)
        except TokenError as exc:
            return await self._refused(exc)
        checked = await _check_token(self.gateway, self.stages, self.route, token, address)
        if isinstance(checked, tuple):
            stage, denial = checked
            self.stages.deny(stage, denial)
            await self._close(_refusal_close(denial))
            return None
        return checked, _kid(token)

    async def _refused(self, exc: TokenError) -> None:
        """A first message without a usable token: traced, and closed with TOKEN_REFUSED."""
        self.stages.error = exc.error
        self.stages.stage("authenticate", ok=False, error=exc.error)
        self.stages.deny("authenticate", answers.unauthorized(exc.error, exc.message))
        await self._close(Ended(close_codes.TOKEN_REFUSED, exc.error, exc.message))

    async def _watch(self, watcher: Watcher, transport: asyncio.Transport | None) -> None:
        watcher.on_end = self._end_soon
        try:
            await self.gateway.hub.join(watcher)
            last = await self._welcome(watcher)
            watcher.go_live(last, self._send_text, lambda: _backed_up(transport))
            self._pump = asyncio.create_task(self._pump_updates(watcher))
            await self._receive(watcher)
        except (TimeoutError, redis.RedisError) as exc:
            log.warning("gateway: watcher of %s failed: %s", self.auction, exc)
            await self._close(Ended(INTERNAL_ERROR, "redis", "Redis did not answer"))
        finally:
            if self._pump is not None:
                self._pump.cancel()
            await self.gateway.hub.leave(watcher)

    async def _read(self, after: int | None) -> tuple[auction.Since | None, dict[str, Any]]:
        """The updates after `after` (None: none asked for), then the state, off the loop."""

        def read(client: redis.Redis) -> tuple[auction.Since | None, auction.Auction | None]:
            since = None if after is None else auction.updates_since(client, self.auction, after)
            return since, auction.read_auction(client, self.auction)

        since, state = await asyncio.to_thread(read, self.gateway.client())
        if state is None:
            raise redis.RedisError(f"the auction {self.auction} is gone")
        return since, state.view(now_ms())

    async def _welcome(self, watcher: Watcher) -> int:
        """Send the welcome and what was missed since `after`; the last seq sent."""
        since, state = await self._read(self.after)
        await self.ws.send_json(
            WelcomeFrame(
                type="welcome", replica=self.gateway.replica, auction=state, after=self.after
            )
        )
        if since is None or self.after is None:
            plan = CatchUp([], int(state["seq"]))
        else:
            plan = catch_up(self.after, since, state)
        for frame in plan.frames:
            await self.ws.send_json(frame)
        replayed = sum(1 for f in plan.frames if f["type"] == "update")
        self.stages.emit(
            "gateway.watch",
            "client",
            auction=self.auction,
            after=self.after,
            replayed=replayed,
            resync=len(plan.frames) > replayed,
            seq=plan.last_seq,
        )
        return plan.last_seq

    async def _fill(self, last: int) -> int:
        """Send what was missed after `last` (a gap, or a reconnect); the new last seq."""
        since, state = await self._read(last)
        assert since is not None
        plan = catch_up(last, since, state)
        for frame in plan.frames:
            await self.ws.send_json(frame)
        return plan.last_seq

    async def _send_text(self, frame: bytes) -> None:
        await self.ws.send_frame(frame, WSMsgType.TEXT)

    async def _pump_updates(self, watcher: Watcher) -> None:
        """Send the outbox in order: each update once, gaps filled from the stream."""
        try:
            while True:
                kind, item = await watcher.outbox.get()
                watcher.pumping = True
                if kind == "frame":
                    await self.ws.send_json(item)
                elif kind == "check":
                    watcher.last_seq = await self._fill(watcher.last_seq)
                else:
                    watcher.last_seq = await self._live(item, watcher.last_seq)
                watcher.pumping = False
        except (ConnectionError, RuntimeError):
            return  # the socket closed under it
        except redis.RedisError:
            watcher.end(Ended(INTERNAL_ERROR, "redis", "Redis did not answer"))

    async def _live(self, update: Live, last: int) -> int:
        placed = place(last, update.seq)
        if placed == "gap":
            last = await self._fill(last)
            placed = place(last, update.seq)
        if placed == "duplicate":
            return last
        await self._send_text(update.frame)
        return update.seq

    async def _receive(self, watcher: Watcher) -> None:
        """The client's frames until it closes: pings answered, floods closed."""
        bucket = TokenBucket(rate=FRAMES_PER_S, burst=FRAMES_BURST)
        async for message in self.ws:
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            if not bucket.take(time.monotonic()):
                watcher.end(
                    Ended(
                        close_codes.FLOODING, "flooding", f"over {FRAMES_PER_S} messages a second"
                    )
                )
                continue
            watcher.offer(("frame", _answer(message.data)))

    def _end_soon(self, ended: Ended) -> None:
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(ended))

    async def _close(self, ended: Ended) -> None:
        """Close with `ended`'s code and its error as the reason, within CLOSE_S."""
        self._ended = self._ended or ended
        if self._pump is not None:
            self._pump.cancel()
        self.gateway.counts.closed(ended.code, ended.error)
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            async with asyncio.timeout(CLOSE_S):
                await self.ws.close(
                    code=ended.code, message=ended.error.encode()[:120], drain=False
                )

    def _traced_close(self) -> None:
        ended = self._ended
        code = ended.code if ended else (self.ws.close_code or 1005)
        self.stages.emit(
            "gateway.unwatch",
            "client",
            ok=ended is None,
            auction=self.auction,
            code=code,
            reason=ended.error if ended else "closed by the client",
            open_s=round(time.monotonic() - self.opened, 3),
        )


def _backed_up(transport: asyncio.Transport | None) -> bool:
    return transport is None or transport.get_write_buffer_size() > STRAIGHT_BUFFER_BYTES


def _refusal_close(denial: answers.Denial) -> Ended:
    """The close code for a first message's token refused by a stage."""
    error = denial.body.get("error", "")
    if denial.status == 429:
        return Ended(close_codes.FLOODING, "rate_limited", denial.body.get("message", ""))
    if denial.status == 503:
        return Ended(TRY_AGAIN_LATER, error, denial.body.get("message", ""))
    return Ended(close_codes.TOKEN_REFUSED, error, denial.body.get("message", ""))


def _answer(data: str | bytes) -> dict[str, Any]:
    """The answer to a client's frame: pong to a ping, an error to anything else."""
    try:
        frame = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        frame = None
    if isinstance(frame, dict) and frame.get("type") == "ping":
        return dict(PongFrame(type="pong"))
    return {"type": "error", "message": 'the only message taken is {"type": "ping"}'}
