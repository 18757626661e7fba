"""The auction watchers of one gateway replica, fed by one Redis pub/sub connection.

The replica subscribes to an auction's channel when its first watcher arrives and
unsubscribes when the last one leaves (reference counts); a watcher is caught up only once
the subscription is confirmed, so nothing published in between is lost. Each watcher has a
bounded outbox: one that cannot keep up is closed (TOO_SLOW), never buffered without end.
Updates are numbered (seq) by Redis: a watcher is sent each one once, in order; a gap (a
message lost while the connection was re-made) is filled from the auction's stream.

Each update is encoded once per replica, not once per watcher. A watcher that is caught up,
with nothing waiting in its outbox and its socket not backed up, is written to at once by the
hub (as a bare relay would); any other goes through its outbox and its socket's own task.

The same connection hears keys.KEYS_CHANGED, for the key ring (credentials.Credentials).
The reference counts, the outbox and the ordering are pure; Hub is the I/O.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NamedTuple, TypedDict

import redis
import redis.asyncio

from archviz.core import close_codes
from archviz.gateway import keys as gateway_keys
from archviz.gateway.auction import AuctionUpdate, Since
from archviz.gateway.edge.pipeline import Ended
from archviz.gateway.tokens import Claims
from archviz.trace.emitter import Emitter

log = logging.getLogger(__name__)

OUTBOX_FRAMES = 256  # frames waiting for one socket before it is too slow
CONFIRM_S = 2.0  # how long a subscription may take to be confirmed
RECONNECT_S = 0.5
CHANNEL_PREFIX = gateway_keys.auction_channel("")


class RefCounts:
    """How many watchers each auction has on this replica."""

    def __init__(self) -> None:
        self._refs: dict[str, int] = {}

    def add(self, key: str) -> bool:
        """Count one more; True when it is the first (subscribe)."""
        self._refs[key] = self._refs.get(key, 0) + 1
        return self._refs[key] == 1

    def remove(self, key: str) -> bool:
        """Count one less; True when it was the last (unsubscribe)."""
        left = self._refs.get(key, 0) - 1
        if left > 0:
            self._refs[key] = left
            return False
        self._refs.pop(key, None)
        return left == 0

    def counts(self) -> dict[str, int]:
        return dict(self._refs)


# --- frames to the browser ---------------------------------------------------------------


class WelcomeFrame(TypedDict):
    type: Literal["welcome"]
    replica: str
    auction: dict[str, Any]  # Auction.view(): the state as read after subscribing
    after: int | None  # the seq the watcher said it had seen


class UpdateFrame(TypedDict):
    type: Literal["update"]
    update: AuctionUpdate
    replayed: bool  # read from the auction's stream (a catch-up), not heard live


class ResyncFrame(TypedDict):
    type: Literal["resync"]
    reason: str
    auction: dict[str, Any]  # start again from this state


class PongFrame(TypedDict):
    type: Literal["pong"]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    message: str


def update_frame(update: AuctionUpdate, *, replayed: bool) -> UpdateFrame:
    return UpdateFrame(type="update", update=update, replayed=replayed)


class Live(NamedTuple):
    """A live update as heard, with its frame encoded once for every watcher."""

    seq: int
    frame: bytes  # an UpdateFrame's JSON, UTF-8


def live(update: AuctionUpdate) -> Live:
    frame = json.dumps(update_frame(update, replayed=False), separators=(",", ":"))
    return Live(int(update["seq"]), frame.encode())


class CatchUp(NamedTuple):
    """What a watcher is sent from the stream, and the last seq it then has."""

    frames: list[UpdateFrame | ResyncFrame]
    last_seq: int


def catch_up(after: int, since: Since, state: dict[str, Any]) -> CatchUp:
    """The updates after `after`, or a resync with the current state when the stream no
    longer holds them all (trimmed, or Redis lost them). `state` was read after `since`."""
    if since.complete:
        frames = [update_frame(u, replayed=True) for u in since.updates if u["seq"] > after]
        return CatchUp(frames, max(after, since.current_seq))  # type: ignore[arg-type]
    reason = f"the updates after seq {after} are no longer kept: start from the current state"
    return CatchUp([ResyncFrame(type="resync", reason=reason, auction=state)], int(state["seq"]))


Placement = Literal["next", "duplicate", "gap"]


def place(last_seq: int, seq: int) -> Placement:
    """Where a live update falls for a watcher that has everything up to `last_seq`."""
    if seq <= last_seq:
        return "duplicate"
    return "next" if seq == last_seq + 1 else "gap"


# --- one watcher ---------------------------------------------------------------------------

CHECK = ("check", None)  # an outbox item: look for missed updates (after a reconnect)


class Watcher:
    """One socket's side of the hub: its auction, its token, its outbox, and the last seq
    its socket was sent (by its own task, or straight by the hub once it is live)."""

    def __init__(
        self, auction: str, claims: Claims, kid: str, *, outbox: int = OUTBOX_FRAMES
    ) -> None:
        self.auction = auction
        self.claims = claims
        self.kid = kid
        self.outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(outbox)
        self.ended: Ended | None = None
        self.on_end: Callable[[Ended], None] | None = None
        self.last_seq = 0
        self.pumping = False  # its socket's task is sending an outbox item
        self._send: Callable[[bytes], Awaitable[None]] | None = None
        self._backed_up: Callable[[], bool] = lambda: True

    def go_live(
        self, last_seq: int, send: Callable[[bytes], Awaitable[None]], backed_up: Callable[[], bool]
    ) -> None:
        """Welcomed and caught up to `last_seq`: from now on the hub may `send` it the next
        update itself, while its socket is not `backed_up`."""
        self.last_seq, self._send, self._backed_up = last_seq, send, backed_up

    def takes_straight(self, seq: int) -> bool:
        """Whether update `seq` may be written at once: live, next in order, nothing queued
        or being sent before it, and room in its socket's buffer."""
        return (
            self._send is not None
            and self.ended is None
            and not self.pumping
            and self.outbox.empty()
            and place(self.last_seq, seq) == "next"
            and not self._backed_up()
        )

    async def send_straight(self, update: Live) -> None:
        assert self._send is not None
        await self._send(update.frame)
        self.last_seq = update.seq

    def offer(self, item: tuple[str, Any]) -> bool:
        """Queue a frame or an update; a full outbox ends the watcher (TOO_SLOW)."""
        if self.ended is not None:
            return False
        try:
            self.outbox.put_nowait(item)
        except asyncio.QueueFull:
            self.end(
                Ended(
                    close_codes.TOO_SLOW, "too_slow", f"over {self.outbox.maxsize} frames waiting"
                )
            )
            return False
        return True

    def end(self, ended: Ended) -> None:
        """Close this watcher's socket with `ended`'s code (the first reason wins)."""
        if self.ended is None:
            self.ended = ended
            if self.on_end is not None:
                self.on_end(ended)


# --- the hub -------------------------------------------------------------------------------


class Hub:
    """The replica's watchers by auction, and its one pub/sub connection."""

    def __init__(
        self,
        replica: str,
        trace: Emitter,
        client: redis.asyncio.Redis,
        *,
        on_keys_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.replica = replica
        self.trace = trace
        self.refs = RefCounts()
        self.watchers: dict[str, set[Watcher]] = {}
        self._client = client
        self._pubsub = client.pubsub()
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._on_keys_changed = on_keys_changed
        self._reader: asyncio.Task | None = None
        self._keys_confirmations = 0

    @property
    def count(self) -> int:
        return sum(len(w) for w in self.watchers.values())

    def all(self) -> list[Watcher]:
        return [w for group in self.watchers.values() for w in group]

    async def start(self) -> None:
        await self._subscribe(gateway_keys.KEYS_CHANGED)
        self._reader = asyncio.create_task(self._read(), name="gateway-pubsub")
        await self._confirmation(gateway_keys.KEYS_CHANGED)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        with contextlib.suppress(redis.RedisError, OSError):
            await self._pubsub.aclose()
        await self._client.aclose()

    async def join(self, watcher: Watcher) -> None:
        """Count the watcher in (subscribing for the auction's first) and return once the
        subscription is confirmed; TimeoutError or redis.RedisError if it is not."""
        self.watchers.setdefault(watcher.auction, set()).add(watcher)
        channel = gateway_keys.auction_channel(watcher.auction)
        if self.refs.add(watcher.auction):
            await self._subscribe(channel)
            self._traced("gateway.subscribe", watcher.auction)
        await self._confirmation(channel)

    async def leave(self, watcher: Watcher) -> None:
        """Count the watcher out (unsubscribing after the auction's last)."""
        group = self.watchers.get(watcher.auction, set())
        if watcher not in group:
            return
        group.discard(watcher)
        if not group:
            self.watchers.pop(watcher.auction, None)
        if self.refs.remove(watcher.auction):
            channel = gateway_keys.auction_channel(watcher.auction)
            self._confirmed.pop(channel, None)
            with contextlib.suppress(redis.RedisError, OSError):
                await self._pubsub.unsubscribe(channel)
            self._traced("gateway.unsubscribe", watcher.auction)

    async def _subscribe(self, channel: str) -> None:
        self._confirmed[channel] = asyncio.get_running_loop().create_future()
        await self._pubsub.subscribe(channel)

    async def _confirmation(self, channel: str) -> None:
        future = self._confirmed.get(channel)
        if future is not None:
            async with asyncio.timeout(CONFIRM_S):
                await asyncio.shield(future)

    def _traced(self, kind: str, auction: str) -> None:
        detail = {
            "auction": auction,
            "channel": gateway_keys.auction_channel(auction),
            "refs": self.refs.counts().get(auction, 0),
        }
        self.trace.emit(kind, "redis", demo="gateway", detail=detail)

    async def _read(self) -> None:
        """Hand each message to its watchers, until cancelled; re-made after an outage."""
        failing = False
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (redis.RedisError, OSError) as exc:
                if not failing:
                    log.warning("gateway: pub/sub connection lost (reconnecting): %s", exc)
                failing = True
                await asyncio.sleep(RECONNECT_S)
                continue
            failing = False
            if message is not None:
                await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        channel = _text(message.get("channel", b""))
        kind = message.get("type")
        if kind == "subscribe":
            self._subscribed(channel)
        elif kind == "message" and channel == gateway_keys.KEYS_CHANGED:
            self._on_keys_changed()
        elif kind == "message" and channel.startswith(CHANNEL_PREFIX):
            await self._deliver(channel[len(CHANNEL_PREFIX) :], message.get("data", b""))

    def _subscribed(self, channel: str) -> None:
        future = self._confirmed.get(channel)
        if future is not None and not future.done():
            future.set_result(None)
        if channel == gateway_keys.KEYS_CHANGED:
            self._keys_confirmations += 1
            if self._keys_confirmations > 1:  # redis-py subscribed again: a new connection
                self._reconnected()

    def _reconnected(self) -> None:
        """Messages may have been lost while the connection was down: the key ring is
        re-read and every watcher looks for updates it missed."""
        self._on_keys_changed()
        for watcher in self.all():
            watcher.offer(CHECK)

    async def _deliver(self, auction: str, data: bytes | str) -> None:
        group = self.watchers.get(auction)
        if not group:
            return
        try:
            update = json.loads(data)
            heard = live(update)
        except (ValueError, TypeError, KeyError):
            log.warning("gateway: ignored a malformed update on %s", auction)
            return
        for watcher in list(group):
            if not watcher.takes_straight(heard.seq):
                watcher.offer(("update", heard))
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):  # closing: its task ends
                await watcher.send_straight(heard)
        detail = {
            "channel": gateway_keys.auction_channel(auction),
            "seq": heard.seq,
            "watchers": len(group),
        }
        self.trace.emit(
            "pubsub.deliver",
            self.replica,
            src="redis",
            demo="gateway",
            trace=update.get("trace") or None,
            detail=detail,
        )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
