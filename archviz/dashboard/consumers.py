"""The lab page's WebSocket: live state and trace events out; pings and commands in."""

import asyncio
import json
import time

import aiohttp
import redis
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from archviz import close_codes
from archviz.dashboard.control import (
    ControlRefused,
    add_node,
    configure_node,
    may_control,
    remove_node,
    request_control,
    send_as,
)
from archviz.dashboard.feed import Subscription, feed
from archviz.dashboard.messages import MAX_FRAME_BYTES, PongFrame, Welcome, ack, error
from archviz.dashboard.ratelimit import TokenBucket
from archviz.lab import registry
from archviz.lab.control import NODE_ID
from archviz.lab.redis_conn import shared_client
from archviz.queue import control as queue_control
from archviz.sessions.switch import switch_mode
from archviz.trace.emitter import get_emitter
from archviz.trace.events import new_trace_id, now_ms
from archviz.trace.reader import recent_events

PING_TIMEOUT_S = 3.0
FLOOD_CLOSE_AFTER = 100  # messages refused for flooding before the socket is closed


class LabConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope["user"]
        if settings.ARCHVIZ_REQUIRE_LOGIN and not user.is_authenticated:
            await self.close(code=close_codes.LOGIN_REQUIRED)
            return
        self.bucket = TokenBucket(rate=20, burst=40)
        self.refused = 0
        self.subscription: Subscription | None = None
        await self.accept()
        await self._send(
            Welcome(
                type="welcome",
                user={
                    "name": user.get_username() if user.is_authenticated else None,
                    "instructor": await may_control(user),
                },
                recent=await self._recent(),
            )
        )
        self.subscription = feed.subscribe()
        self.pump = asyncio.create_task(self._pump(self.subscription))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "subscription", None) is not None:
            feed.unsubscribe(self.subscription)
            self.pump.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.bucket.take(time.monotonic()):
            self.refused += 1
            if self.refused >= FLOOD_CLOSE_AFTER:
                await self.close(code=close_codes.FLOODING)
            else:
                await self._send(error("too many messages: at most 20 per second"))
            return
        message, problem = parse_frame(text_data, bytes_data)
        if problem:
            await self._send(error(problem))
            return
        handler = {
            "ping": self._ping,
            "control": self._control,
            "lb.algorithm": self._algorithm,
            "traffic": self._traffic,
            "node.config": self._node_config,
            "node.add": self._node_add,
            "node.remove": self._node_remove,
            "session.mode": self._session_mode,
            "queue.control": self._queue_control,
            "queue.enqueue": self._queue_enqueue,
            "queue.add": self._queue_add,
            "queue.remove": self._queue_remove,
            "chat.mode": self._chat_mode,
            "chat.bots": self._chat_bots,
        }.get(message.get("type"))
        if handler is None:
            await self._send(error(f"unknown message type {message.get('type')!r}"))
            return
        await handler(message)

    async def _ping(self, message: dict) -> None:
        """dashboard -> node (HTTP) -> Redis (pub/sub) -> dashboard, each hop traced."""
        node = message.get("node")
        if not isinstance(node, str) or not NODE_ID.fullmatch(node):
            await self._send(error(f"bad node id {node!r}", request="ping", node=node))
            return
        found = await asyncio.to_thread(registry.lookup, shared_client(), "node", node)
        if found is None:
            reason = f"{node} is not up: it has no registration in Redis"
            await self._send(error(reason, request="ping", node=node))
            return
        trace = new_trace_id()
        pong = feed.expect_pong(trace)
        request = get_emitter().emit("http.request", node, trace=trace, detail={"path": "/ping"})
        try:
            answer = await self._post_ping(found, trace)
            await asyncio.wait_for(pong, PING_TIMEOUT_S)
        except (aiohttp.ClientError, TimeoutError) as exc:
            pong.cancel()
            reason = f"{node} did not answer: {exc.__class__.__name__ or 'timeout'}"
            get_emitter().emit(
                "http.response", "dashboard", src=node, trace=trace, ok=False,
                ms=now_ms() - request["ts"], detail={"reason": reason},
            )  # fmt: skip
            await self._send(error(reason, request="ping", node=node))
            return
        get_emitter().emit(
            "pubsub.deliver",
            "dashboard",
            src="redis",
            trace=trace,
            ms=now_ms() - pong.result()["ts"],
            detail={"from": node},
        )
        await self._send(
            PongFrame(type="pong", trace=trace, node=node, ms=round(now_ms() - request["ts"], 2),
                      count=answer.get("count", 0))
        )  # fmt: skip

    async def _post_ping(self, found: registry.Registration, trace: str) -> dict:
        timeout = aiohttp.ClientTimeout(total=PING_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            url = f"http://{found.address}/ping"
            async with session.post(url, params={"trace": trace}) as response:
                response.raise_for_status()
                return await response.json()

    async def _control(self, message: dict) -> None:
        await self._instructor_action(
            message,
            message.get("action"),
            request_control(self.scope["user"], message.get("action"), message.get("node")),
        )

    async def _algorithm(self, message: dict) -> None:
        fields = {"type": "lb.algorithm", "algorithm": message.get("algorithm")}
        await self._instructor_action(message, "lb.algorithm", send_as(self.scope["user"], fields))

    async def _traffic(self, message: dict) -> None:
        fields = {k: message.get(k) for k in ("rate", "work_ms", "variance_ms", "ws_clients")}
        if "queue" in message:  # the queue page's producers: off | also | only
            fields["queue"] = message["queue"]
        command = send_as(self.scope["user"], {"type": "traffic.set"} | fields)
        await self._instructor_action(message, "traffic", command)

    async def _node_config(self, message: dict) -> None:
        settings = message.get("settings")
        command = configure_node(
            self.scope["user"], message.get("node"), settings if isinstance(settings, dict) else {}
        )
        await self._instructor_action(message, "node.config", command)

    async def _node_add(self, message: dict) -> None:
        await self._instructor_action(message, "node.add", add_node(self.scope["user"]))

    async def _node_remove(self, message: dict) -> None:
        command = remove_node(self.scope["user"], message.get("node"))
        await self._instructor_action(message, "node.remove", command)

    async def _session_mode(self, message: dict) -> None:
        mode = switch_mode(self.scope["user"], message.get("mode"))
        await self._instructor_action(message, "session.mode", mode)

    async def _queue_control(self, message: dict) -> None:
        user, action = self.scope["user"], message.get("action")
        command = queue_control.queue_control(user, action, message.get("consumer"))
        await self._instructor_action(message, f"queue.{action}", command)

    async def _queue_enqueue(self, message: dict) -> None:
        user, count, kind = self.scope["user"], message.get("count"), message.get("kind", "normal")
        command = queue_control.enqueue_jobs(user, count, kind)
        await self._instructor_action(message, "queue.enqueue", command)

    async def _queue_add(self, message: dict) -> None:
        await self._instructor_action(
            message, "queue.add", queue_control.add_consumer(self.scope["user"])
        )

    async def _queue_remove(self, message: dict) -> None:
        command = queue_control.remove_consumer(self.scope["user"], message.get("consumer"))
        await self._instructor_action(message, "queue.remove", command)

    async def _chat_mode(self, message: dict) -> None:
        command = send_as(self.scope["user"], {"type": "chat.mode", "mode": message.get("mode")})
        await self._instructor_action(message, "chat.mode", command)

    async def _chat_bots(self, message: dict) -> None:
        fields = {"type": "chat.bots", "room": message.get("room"), "count": message.get("count")}
        await self._instructor_action(message, "chat.bots", send_as(self.scope["user"], fields))

    async def _instructor_action(self, message: dict, action: object, carry_out) -> None:
        """Await an instructor command; answer with an ack or an error naming the request."""
        try:
            result = await carry_out
        except ControlRefused as refused:
            await self._send(
                error(refused.reason, request=str(message.get("type")), node=message.get("node"))
            )
            return
        node = result if isinstance(result, str) else message.get("node")
        await self._send(ack(str(action), node))

    async def _pump(self, subscription: Subscription) -> None:
        while True:
            await self._send(await subscription.next_frame())

    async def _recent(self) -> list:
        try:
            return await asyncio.to_thread(recent_events, shared_client(), 50)
        except redis.RedisError:  # Redis away: the page still opens, with an empty log
            return []

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))


def parse_frame(text_data: str | None, bytes_data: bytes | None) -> tuple[dict, str]:
    """The frame as a JSON object, or an empty dict and what is wrong with it."""
    raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
    if len(raw.encode()) > MAX_FRAME_BYTES:
        return {}, "message over 64 KiB"
    try:
        message = json.loads(raw)
    except ValueError:
        return {}, "malformed JSON"
    if not isinstance(message, dict):
        return {}, "a message must be a JSON object"
    return message, ""
