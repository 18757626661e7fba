"""The lab page's WebSocket: live state and trace events out; the apps' requests in.

A tab too far behind is closed with TOO_SLOW (4008), counted (the dashboard's metrics show
it), and reconnects to a fresh state: daphne never makes `send` wait, so a page that stops
reading would otherwise have every frame kept for it in this process's memory.
"""

import asyncio
import json
import os
import time
from urllib.parse import parse_qs

import redis
from autobahn.exception import Disconnected
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from archviz.core import close_codes, labsocket, set_by
from archviz.core.frames import InvalidFrame
from archviz.core.instructor import ControlRefused, may_control
from archviz.core.labsocket import error
from archviz.core.ratelimit import TokenBucket
from archviz.core.redis_conn import shared_client
from archviz.core.serve import UNSENT_BYTES
from archviz.dashboard.feed import Subscription, feed
from archviz.dashboard.messages import Welcome
from archviz.recorder.replay import replays
from archviz.trace.reader import recent_events

FLOOD_CLOSE_AFTER = 100  # messages refused for flooding before the socket is closed
MAX_UNSENT_BYTES = 1024 * 1024  # frames written but not taken by the tab: over this, too slow


class LabConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope["user"]
        if settings.ARCHVIZ_REQUIRE_LOGIN and not user.is_authenticated:
            # accepted first: a close before the accept reaches the page as a bare 403
            await self.accept()
            await self.close(code=close_codes.LOGIN_REQUIRED)
            return
        self.bucket = TokenBucket(rate=20, burst=40)
        client = self.scope.get("client") or ("unknown", 0)
        self.caller = labsocket.Caller(
            socket=os.urandom(8).hex(), address=str(client[0]), page=self._page()
        )
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
        self.subscription = feed.subscribe(forwarded_only=self._query("frames") == "forwarded")
        replays.attach(self.caller.socket, self.subscription, feed.live_state_frame)
        self.pump = asyncio.create_task(self._pump(self.subscription))
        self.subscription.deliver = self._deliver  # after the pump took what was queued

    async def disconnect(self, code: int) -> None:
        if getattr(self, "subscription", None) is not None:
            replays.detach(self.caller.socket)
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
        try:
            message = labsocket.parse_request(text_data if text_data is not None else bytes_data)
        except InvalidFrame as invalid:
            await self._send(error(str(invalid), request=invalid.request))
            return
        handler = labsocket.handler_for(message["type"])
        try:
            with labsocket.calling_as(self.caller):
                answer = await handler(self.scope["user"], message)
        except ControlRefused as refused:
            answer = error(refused.reason, request=message["type"], node=message.get("node"))
        await self._send(answer)

    def _page(self) -> str:
        """The page this socket was opened from (its `?page=`), for what it sets to name."""
        return set_by.page_or_blank(self._query("page"))

    def _query(self, name: str) -> str:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        return query.get(name, [""])[0]

    async def _pump(self, subscription: Subscription) -> None:
        """Send what waited in the queue (the feed sends straight to a tab not behind)."""
        while True:
            frame = await subscription.next_frame()
            if not await self._deliver(frame):
                return
            subscription.sent()

    async def _deliver(self, frame: str) -> bool:
        """Send a frame encoded once by the feed for every tab, unless this tab is too far
        behind (then it is closed, and False), or gone (False: daphne refuses a send on a
        socket the tab closed before its disconnect reached this consumer)."""
        if self._unsent_bytes() > MAX_UNSENT_BYTES:
            await self._too_slow()
            return False
        try:
            await self.send(text_data=frame)
        except Disconnected:
            feed.unsubscribe(self.subscription)  # the disconnect that follows ends the rest
            return False
        return True

    def _unsent_bytes(self) -> int:
        """What this tab has not taken yet (0 outside daphne: a test's communicator)."""
        measure = self.scope.get(UNSENT_BYTES)
        return measure() if measure is not None else 0

    async def _too_slow(self) -> None:
        feed.count_too_slow()
        feed.unsubscribe(self.subscription)  # nothing more is queued for it
        await self.close(code=close_codes.TOO_SLOW)

    async def _recent(self) -> list:
        try:
            return await asyncio.to_thread(recent_events, shared_client())
        except redis.RedisError:  # Redis away: the page still opens, with an empty log
            return []

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))
