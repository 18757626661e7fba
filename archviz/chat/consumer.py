"""A chat client's WebSocket on a node: one room, messages in order, presence, recovery.

The consumer listens on both channel layers (InMemory and Redis pub/sub) so that the
instructor can switch the broadcast mode live; each message is sent on the layer of
the mode at the time. Frames in: send, ack, ping; frames out: welcome, message, sent,
presence, history_lost, mode, error, pong (all in archviz/chat/messages.py).
"""

import asyncio
import contextlib
import functools
import json
import logging
import time
import uuid
from typing import Literal
from urllib.parse import parse_qs

import redis
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from archviz.chat.hub import get_hub
from archviz.chat.layers import LOCAL, REDIS, group_channel, group_name
from archviz.chat.messages import (
    HistoryLostFrame,
    Member,
    MessageEvent,
    MessageFrame,
    ModeFrame,
    PongFrame,
    PresenceBatch,
    PresenceEvent,
    PresenceFrame,
    RoomMessage,
    SentFrame,
    ServerFrame,
    WelcomeFrame,
    error,
    parse_client_frame,
)
from archviz.chat.rooms import (
    ROOMS_MAX,
    BadInput,
    Sequencer,
    parse_after,
    validate_room,
    validate_user,
    visible_on,
)
from archviz.core import close_codes, hooks
from archviz.core.frames import InvalidFrame
from archviz.core.ratelimit import TokenBucket
from archviz.core.runner import current_component
from archviz.trace.events import new_trace_id, now_ms

log = logging.getLogger(__name__)
MAX_UNACKED = 1_000  # frames sent but not acknowledged before a client is "too slow"
GAP_WAIT_S = 0.5  # how long an out-of-order message waits for the missing ones
CATCH_UP_S = 0.5  # after joining, when the room's last number is checked once more
SENDS_PER_S = 20  # chat messages per client per second (a flood past that)
FLOOD_CLOSE_AFTER = 20  # refused sends before the socket is closed with FLOODING
FRAMES_PER_S = 100  # any frame (acks, pings) per client per second


def _head(obj: dict) -> str:
    """obj as JSON with its sequence number left open: head + str(seq) + "}" completes it."""
    return json.dumps(obj)[:-1] + ', "seq": '


class ChatConsumer(AsyncWebsocketConsumer):
    async def __call__(self, scope, receive, send) -> None:
        """Like AsyncConsumer.__call__, but receiving from both layers at once."""
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(LOCAL)
        self.channel_name = await self.channel_layer.new_channel()
        receivers = [receive, functools.partial(self.channel_layer.receive, self.channel_name)]
        self.layer_channels = {LOCAL: self.channel_name}
        try:
            redis_layer = get_channel_layer(REDIS)
            self.layer_channels[REDIS] = await redis_layer.new_channel()
            receivers.append(functools.partial(redis_layer.receive, self.layer_channels[REDIS]))
        except (redis.RedisError, OSError) as exc:
            log.warning("chat: Redis layer unavailable, this client is local only: %s", exc)
        counters = current_component().counters  # the node's heartbeat reports its WebSockets
        counters.websockets += 1
        try:
            with contextlib.suppress(StopConsumer):
                await await_many_dispatch(receivers, self.dispatch)
        finally:
            counters.websockets -= 1

    async def dispatch(self, message: dict) -> None:
        """Like AsyncConsumer.dispatch without its close_old_connections: that is a hop to
        Django's one sync thread for every message, and the chat uses no database."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    # --- connecting ---------------------------------------------------------------

    async def connect(self) -> None:
        self.hub = get_hub()
        self.store = await self.hub.ready()
        self.joined = self.closing = False
        self.frames_out = self.acked = 0
        try:
            self.room = validate_room(self.scope["url_route"]["kwargs"].get("room"))
            query = parse_qs(self.scope.get("query_string", b"").decode())
            after = parse_after(query.get("after", [None])[0])
        except BadInput as bad:
            await self.accept()
            await self._frame(error(str(bad)))
            await self.close(code=close_codes.BAD_ROOM)
            return
        self.conn = f"{self.hub.node}.{uuid.uuid4().hex[:8]}"
        self.user = validate_user(query.get("user", [""])[0], f"guest-{self.conn[-4:]}")
        self.since = now_ms()
        self.sequencer = Sequencer()
        self.sends = TokenBucket(rate=SENDS_PER_S, burst=SENDS_PER_S)
        self.frames = TokenBucket(rate=FRAMES_PER_S, burst=FRAMES_PER_S)
        self.refused_sends = 0
        self.gap_task: asyncio.Task | None = None
        if not await hooks.admit_socket(self):  # the node is overloaded: refused with 4013
            return
        await self.accept()
        try:
            await self._join(after)
        except (redis.RedisError, OSError) as exc:
            await self._frame(error(f"Redis unreachable: {exc}"))
            await self.close(code=close_codes.OVERLOADED)

    async def _join(self, after: int | None) -> None:
        info = Member(user=self.user, node=self.hub.node, since=self.since)
        members = await self.store.join(self.room, self.conn, info, now_ms())
        if members is None:
            await self._frame(error(f"too many rooms: at most {ROOMS_MAX}; join one that exists"))
            await self.close(code=close_codes.ROOMS_FULL)
            return
        for mode, channel in self.layer_channels.items():
            await get_channel_layer(mode).group_add(group_name(self.room), channel)
        self.hub.add(self.room, self)
        self.joined = True
        last_seq, _first_kept = await self.store.bounds(self.room)
        await self._frame(WelcomeFrame(type="welcome", node=self.hub.node, room=self.room,
                                       conn=self.conn, user=self.user, mode=self.hub.mode,
                                       seq=last_seq, members=members))  # fmt: skip
        if after is None:
            await self._send_recent(last_seq)
        else:
            await self._recover(after, last_seq)
        self.gap_task = asyncio.create_task(self._catch_up())
        trace = new_trace_id()
        self.hub.trace("ws.open", self.hub.node, src="lb", trace=trace,
                       detail={"room": self.room, "user": self.user, "after": after})  # fmt: skip
        await self._announce("join", trace)

    async def _send_recent(self, last_seq: int) -> None:
        recent = [m for m in await self.store.recent(self.room) if visible_on(m, self.hub.node)]
        self.sequencer.last = max([last_seq] + [m["seq"] for m in recent])
        for message in recent:
            await self._frame(MessageFrame(type="message", history=True, **message))

    async def _recover(self, after: int, last_seq: int) -> None:
        """Replay what a reconnecting client missed, in order, once; say what is lost."""
        missed = self.sequencer.resume(after, last_seq)
        if missed is None:
            return
        found = await self.store.history(self.room, *missed)
        visible = {s: (m if visible_on(m, self.hub.node) else None) for s, m in found.items()}
        lost_before = self.sequencer.lost
        replayed = self.sequencer.fill(visible, up_to=last_seq)
        for message in replayed:
            await self._send_message(message)
            self.hub.delivered(self.room, message, recovered=True)
        self.hub.trace("chat.recover", self.hub.node, src="redis",
                       detail={"room": self.room, "user": self.user, "after": after,
                               "replayed": len(replayed)})  # fmt: skip
        await self._report_lost(self.sequencer.lost - lost_before, *missed)

    async def _report_lost(self, lost: int, first: int, last: int) -> None:
        if not lost:
            return
        self.hub.count(self.room, "lost", lost)
        self.hub.trace("chat.lost", "client", ok=False,
                       detail={"room": self.room, "user": self.user, "lost": lost})  # fmt: skip
        frame: HistoryLostFrame = {"type": "history_lost", "room": self.room, "from": first,
                                   "to": last, "lost": lost,
                                   "error": "history lost, reload: the room's capped history "
                                            "no longer holds some messages you missed"}  # fmt: skip
        await self._frame(frame)

    async def _announce(self, event: Literal["join", "leave"], trace: str) -> None:
        kind = "presence.join" if event == "join" else "presence.leave"
        detail = {"room": self.room, "user": self.user, "node": self.hub.node}
        self.hub.trace(kind, "redis", trace=trace, detail=detail)
        presence = PresenceEvent(event=event, conn=self.conn, ts=now_ms(), **detail)
        await self.store.log_presence(presence)
        self.hub.announce(self.room, presence)

    async def disconnect(self, code: int) -> None:
        hooks.release_socket(self)  # out of the node's sockets (shedding chooses from them)
        if getattr(self, "gap_task", None):
            self.gap_task.cancel()
        if not getattr(self, "joined", False):
            return
        self.hub.remove(self.room, self)
        for mode, channel in self.layer_channels.items():
            await get_channel_layer(mode).group_discard(group_name(self.room), channel)
        try:
            await self.store.leave(self.room, self.conn)
            await self._announce("leave", new_trace_id())
        except (redis.RedisError, OSError):
            pass  # the heartbeat expiry will tell the room
        self.hub.trace("ws.close", "client", detail={"room": self.room, "user": self.user,
                                                     "code": code})  # fmt: skip

    # --- from the client ----------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.joined:
            return
        if not self.frames.take(time.monotonic()):
            await self._refuse(f"too many frames: at most {FRAMES_PER_S} per second")
            return
        try:
            frame = parse_client_frame(text_data if text_data is not None else bytes_data or b"")
        except InvalidFrame as bad:
            await self._refuse(str(bad))
            return
        if frame["type"] == "ack":
            await self._ack(frame["received"])
        elif frame["type"] == "ping":
            await self._frame(PongFrame(type="pong", node=self.hub.node, ts=now_ms()))
        elif self.sends.take(time.monotonic()):
            await self._chat(frame["text"], frame["cid"])
        else:
            await self._flooding()

    async def _ack(self, received: int) -> None:
        """Believe an acknowledgement only of frames this node really sent: a client that
        claims more is lying to dodge the slow-client guard; its claim counts for nothing."""
        if received > self.frames_out:
            await self._refuse(f"ack of {received} frames, but only {self.frames_out} were sent")
            return
        self.acked = max(self.acked, received)

    async def _refuse(self, reason: str) -> None:
        self.hub.count(self.room, "refused")
        await self._frame(error(reason))

    async def _flooding(self) -> None:
        self.refused_sends += 1
        self.hub.count(self.room, "refused")
        if self.refused_sends >= FLOOD_CLOSE_AFTER:
            self.hub.count(self.room, "flooded")
            self.hub.trace("chat.refuse", "client", ok=False,
                           detail={"room": self.room, "user": self.user, "why": "flooding",
                                   "code": close_codes.FLOODING})  # fmt: skip
            await self.close(code=close_codes.FLOODING)
            return
        await self._frame(error(f"flooding: at most {SENDS_PER_S} messages per second"))

    async def _chat(self, text: str, cid: str) -> None:
        """Store and broadcast a message. In Redis mode one atomic step numbers it, keeps it
        and publishes it on the room's channel: the channel carries the room in order."""
        mode, trace = self.hub.mode, new_trace_id()
        traced = self.hub.take_trace(self.room)
        message = RoomMessage(room=self.room, user=self.user, text=text, node=self.hub.node,
                              ts=now_ms(), trace=trace, mode=mode, traced=traced)  # fmt: skip
        # Serialised once here, not once per receiver: the event carries the finished frame
        # (all but its number) beside what the receivers need to order, count and trace it.
        event = {k: message[k] for k in ("room", "node", "ts", "trace", "mode", "traced")}
        event |= {"type": "chat.message", "frame": _head({"type": "message"} | message)}
        publish = (group_channel(self.room), _head(event)) if mode == REDIS else None
        try:
            seq, members = await self.store.append(self.room, message, publish)
        except (redis.RedisError, OSError) as exc:
            await self._frame(error(f"not sent, Redis unreachable: {exc}", cid))
            return
        if mode == LOCAL:
            self.hub.count(self.room, "missed_local", members - len(self.hub.rooms[self.room]))
            await self.hub.layer(LOCAL).group_send(group_name(self.room), event | {"seq": seq})
        if traced:
            detail = {"room": self.room, "seq": seq, "user": self.user, "via": "lb",
                      "mode": mode, "members": members}  # fmt: skip
            self.hub.trace("chat.send", self.hub.node, src="client", trace=trace, detail=detail)
            if mode == REDIS:
                self.hub.trace("pubsub.publish", "redis", trace=trace, detail=detail)
        await self._frame(SentFrame(type="sent", cid=cid, seq=seq))

    # --- from the room ------------------------------------------------------------

    async def chat_message(self, event: MessageEvent) -> None:
        if not self.joined or event["room"] != self.room:
            return
        before = self.sequencer.duplicates
        ready = self.sequencer.offer(event, strict=event["mode"] == REDIS)
        if self.sequencer.duplicates > before:
            self.hub.count(self.room, "duplicates")
        for item in ready:  # this message, and any that waited for it
            await self._send_message(item)
            self.hub.delivered(self.room, item)
        if self.sequencer.pending and self.gap_task is None:
            self.gap_task = asyncio.create_task(self._fill_gap())

    async def _catch_up(self) -> None:
        """A message stored after we read the room's bounds but published before our
        subscription took effect reached neither the replay nor us: look once more."""
        await asyncio.sleep(CATCH_UP_S)
        try:
            last_seq, _first = await self.store.bounds(self.room)
            if last_seq > self.sequencer.last:
                await self._settle(self.sequencer.last + 1, last_seq)
        except (redis.RedisError, OSError) as exc:
            log.warning("chat: could not check for missed messages: %s", exc)
        self._next_gap_fill()

    async def _fill_gap(self) -> None:
        """A later message arrived first: wait a moment, then take the missing ones from
        the room's history (counted as recovered) or declare them lost."""
        await asyncio.sleep(GAP_WAIT_S)
        gap = self.sequencer.gap()
        try:
            if gap is not None:
                await self._settle(*gap)
        except (redis.RedisError, OSError) as exc:
            log.warning("chat: could not fill a gap from the history: %s", exc)
        self._next_gap_fill()

    def _next_gap_fill(self) -> None:
        self.gap_task = asyncio.create_task(self._fill_gap()) if self.sequencer.pending else None

    async def _settle(self, first: int, last: int) -> None:
        found = await self.store.history(self.room, first, last)
        visible = {s: (m if visible_on(m, self.hub.node) else None) for s, m in found.items()}
        lost_before = self.sequencer.lost
        # Settle exactly what was fetched: the gap may have moved while we waited.
        ready = self.sequencer.fill(visible, up_to=last)
        for message in ready:  # traced as well: the paths must not call them missed
            await self._send_message(message)
            self.hub.delivered(self.room, message, recovered=bool(message.get("recovered")))
        await self._report_lost(self.sequencer.lost - lost_before, first, last)

    async def chat_presence(self, event: PresenceBatch) -> None:
        """Joins, leaves and offlines in this room (batched by the node that saw them)."""
        if not self.joined or event["room"] != self.room:
            return
        others = [p for p in event["events"] if p["conn"] != self.conn]
        if others:
            await self._frame(PresenceFrame(type="presence", room=self.room, events=others))

    async def on_mode(self, mode: str) -> None:
        await self._frame(ModeFrame(type="mode", mode=mode))

    # --- to the client ------------------------------------------------------------

    async def _send_message(self, message: dict) -> None:
        """A live message carries its finished frame; one from the history is built here."""
        if self.closing:
            return
        if self.frames_out - self.acked >= MAX_UNACKED:
            await self._too_slow()
            return
        head = message.get("frame")
        await self._frame(
            f"{head}{message['seq']}}}" if head else MessageFrame(type="message", **message)
        )

    async def _too_slow(self) -> None:
        if self.closing:
            return
        self.closing = True  # send nothing more; disconnect() cleans up as usual
        self.hub.count(self.room, "too_slow")
        self.hub.trace("chat.refuse", "client", ok=False,
                       detail={"room": self.room, "user": self.user, "why": "too slow",
                               "unacked": self.frames_out - self.acked,
                               "code": close_codes.TOO_SLOW})  # fmt: skip
        await self.close(code=close_codes.TOO_SLOW)

    async def _frame(self, frame: ServerFrame | str) -> None:
        self.frames_out += 1
        try:
            await self.send(text_data=frame if isinstance(frame, str) else json.dumps(frame))
        except Disconnected:  # the client left; its disconnect message is queued behind us
            self.closing = True
