"""One node's chat side: its connections by room, the broadcast mode, presence
heartbeats and expiry, the ledger counters, and the sampled trace of messages."""

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict
from typing import Protocol

import redis
from channels.layers import get_channel_layer

from archviz.chat import keys as chat_keys
from archviz.chat.layers import LOCAL, REDIS, group_name
from archviz.chat.messages import PresenceBatch, PresenceEvent
from archviz.chat.rooms import PRESENCE_BEAT_S
from archviz.chat.store import RoomStore, command_client
from archviz.core.control import ControlCommand, listen_for_commands
from archviz.core.ratelimit import TokenBucket
from archviz.core.runner import current_component
from archviz.trace.emitter import get_emitter
from archviz.trace.events import now_ms

log = logging.getLogger(__name__)
TRACED_PER_S = 10  # messages per node per second drawn end to end; the ledger counts all
DELIVERY_TRACE_DELAY_S = 0.05  # deliveries of one message on one node, summed over this
PRESENCE_BATCH_S = 0.5  # a room's presence announcements from one node go out together


class Member(Protocol):
    conn: str
    user: str
    since: float

    async def on_mode(self, mode: str) -> None: ...


class ChatHub:
    def __init__(self, node: str) -> None:
        self.node = node
        self.mode = REDIS
        self.rooms: dict[str, dict[str, Member]] = defaultdict(dict)
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.sampler = TokenBucket(rate=TRACED_PER_S, burst=TRACED_PER_S)
        self._deliveries: dict[str, list] = {}
        self._presence: dict[str, list[PresenceEvent]] = {}
        self._sending: set[asyncio.Task] = set()
        self._tasks: list[asyncio.Task] = []
        self.store: RoomStore | None = None
        self.redis_ok = True
        self._mode_loaded = False

    def start(self) -> RoomStore:
        """Start the background work on the running loop (once); returns the store."""
        if not self._tasks:
            self.store = RoomStore(command_client())
            self._tasks = [
                asyncio.create_task(self._beat_forever()),
                asyncio.create_task(listen_for_commands(self.node, "chat.", self._on_command)),
            ]
        return self.store

    async def ready(self) -> RoomStore:
        """The store, once the background work runs and the stored mode is known."""
        store = self.start()
        if not self._mode_loaded:
            self._mode_loaded = True
            with contextlib.suppress(redis.RedisError, OSError):  # the heartbeat re-reads it
                self.mode = await store.mode()
        return store

    def layer(self, mode: str | None = None):
        return get_channel_layer(mode or self.mode)

    def add(self, room: str, member: Member) -> None:
        self.rooms[room][member.conn] = member

    def remove(self, room: str, member: Member) -> None:
        self.rooms[room].pop(member.conn, None)
        if not self.rooms[room]:
            del self.rooms[room]

    def count(self, room: str, name: str, n: int = 1) -> None:
        self.counts[room][name] += n

    def trace(self, kind: str, dst: str, **fields) -> None:
        get_emitter().emit(kind, dst, src=fields.pop("src", self.node), demo="chat", **fields)

    def take_trace(self, room: str) -> bool:
        """Whether this message is drawn end to end (sampled above TRACED_PER_S)."""
        if self.sampler.take(time.monotonic()):
            return True
        self.count(room, "untraced")
        return False

    def delivered(self, room: str, message: dict, *, recovered: bool = False) -> None:
        """Count one client's copy of a message (live, or taken from the room's history);
        a traced message's copies on this node make one chat.deliver event, however they
        came: live, released after a gap was settled, or replayed after a reconnect."""
        self.counts[room]["recovered" if recovered else "delivered"] += 1
        if not message.get("traced"):
            return
        pending = self._deliveries.get(message["trace"])
        if pending is None:  # the first copy on this node: its time is the latency
            pending = {"message": message, "clients": 0, "recovered": 0,
                       "ms": now_ms() - message["ts"]}  # fmt: skip
            self._deliveries[message["trace"]] = pending
            asyncio.get_running_loop().call_later(
                DELIVERY_TRACE_DELAY_S, self._trace_delivery, message["trace"]
            )
        pending["clients"] += 1
        pending["recovered"] += recovered

    def _trace_delivery(self, trace: str) -> None:
        pending = self._deliveries.pop(trace)
        message, ms = pending["message"], pending["ms"]
        detail = {"room": message["room"], "seq": message["seq"], "clients": pending["clients"],
                  "recovered": pending["recovered"], "mode": message["mode"],
                  "from_node": message["node"]}  # fmt: skip
        if message["node"] != self.node and pending["clients"] > pending["recovered"]:
            self.trace("pubsub.deliver", self.node, src="redis", trace=trace, ms=ms, detail=detail)
        self.trace("chat.deliver", "clients", trace=trace, ms=ms, detail=detail)

    async def broadcast(self, room: str, event: dict) -> None:
        """Send an event to the room's group on the current mode's layer."""
        await self.layer().group_send(group_name(room), event)

    def announce(self, room: str, presence: PresenceEvent) -> None:
        """Queue a join, leave or offline; a room's announcements go out together every
        PRESENCE_BATCH_S, so that a join storm costs each client a frame per node per 0.5 s,
        not one per join."""
        if room not in self._presence:
            self._presence[room] = []
            asyncio.get_running_loop().call_later(PRESENCE_BATCH_S, self._flush_presence, room)
        self._presence[room].append(presence)

    def _flush_presence(self, room: str) -> None:
        events = self._presence.pop(room, [])
        if events:
            task = asyncio.create_task(self._send_presence(room, events))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send_presence(self, room: str, events: list[PresenceEvent]) -> None:
        try:
            await self.broadcast(
                room, PresenceBatch(type="chat.presence", room=room, events=events)
            )
        except (redis.RedisError, OSError) as exc:
            log.warning("%s: could not announce presence in %s: %s", self.node, room, exc)

    # --- background ---------------------------------------------------------------

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_BEAT_S)
            try:
                await self.beat()
                if not self.redis_ok:
                    log.info("%s: chat presence reaches Redis again", self.node)
                self.redis_ok = True
            except (redis.RedisError, OSError) as exc:
                if self.redis_ok:
                    log.warning("%s: chat presence cannot reach Redis: %s", self.node, exc)
                self.redis_ok = False
            except Exception:  # the heartbeat must outlive any one bad beat
                log.exception("%s: chat heartbeat failed", self.node)

    async def beat(self) -> None:
        """Refresh presence, flush the ledger, expire silent connections, re-read the mode."""
        conns = {room: {c: {"user": m.user, "node": self.node, "since": m.since}
                        for c, m in members.items()}
                 for room, members in self.rooms.items()}  # fmt: skip
        counts, self.counts = self.counts, defaultdict(Counter)
        try:
            back = await self.store.beat(conns, now_ms(), {r: dict(c) for r, c in counts.items()})
        except (redis.RedisError, OSError):
            for room, c in counts.items():  # keep them for the next beat
                self.counts[room].update(c)
            raise
        for room, returned in back.items():  # expired while this node was too busy: back
            for conn in returned:
                user = conns[room][conn]["user"]
                self.announce(room, PresenceEvent(event="join", conn=conn, room=room, user=user,
                                                  node=self.node, ts=now_ms()))  # fmt: skip
        for gone in await self.store.reap(now_ms()):
            await self._announce_offline(gone)
        mode = await self.store.mode()
        if mode != self.mode:
            await self._switch(mode, by="")

    async def _announce_offline(self, gone: dict) -> None:
        detected = now_ms()
        event = PresenceEvent(event="offline", room=gone["room"], conn=gone["conn"],
                              user=gone.get("user", "?"), node=gone.get("node", "?"),
                              ts=detected, detected_by=self.node,
                              detect_ms=round(detected - gone["last_seen"]))  # fmt: skip
        if back_on := await self.store.nodes_of(event["room"], event["user"]):
            event["back_on"] = back_on
        shown = ("room", "user", "node", "detect_ms", "back_on")
        detail = {k: event[k] for k in shown if k in event}
        self.trace("presence.offline", "redis", ms=event["detect_ms"], detail=detail)
        await self.store.log_presence(event)
        self.announce(gone["room"], event)

    async def _on_command(self, command: ControlCommand) -> None:
        if command["type"] == "chat.mode":
            await self.store.client.set(chat_keys.MODE, command["mode"])
            await self._switch(command["mode"], by=command["by"], trace=command["trace"])

    async def _switch(self, mode: str, *, by: str, trace: str | None = None) -> None:
        if mode not in (LOCAL, REDIS) or mode == self.mode:
            return
        self.mode = mode
        self.trace("chat.mode", self.node, trace=trace, detail={"mode": mode, "by": by})
        for members in list(self.rooms.values()):
            for member in list(members.values()):
                await member.on_mode(mode)


_hub: ChatHub | None = None


def get_hub() -> ChatHub:
    global _hub
    if _hub is None:
        _hub = ChatHub(current_component().id)
    return _hub
