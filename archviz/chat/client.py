"""A chat client in Python (bots, benchmarks, tests): it reconnects through the load
balancer with the last sequence number it saw, acknowledges what it reads, and keeps
count of what it received, once and in order."""

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import aiohttp

from archviz.chat.messages import AckFrame, MessageFrame, SendFrame, ServerFrame

ACK_EVERY_S = 1.0  # the server allows 1,000 frames unacknowledged; acks cost it frames too
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.05, 1.0
HANDSHAKE_TIMEOUT_S = 10.0  # shorter, and abandoned handshakes pile up on a busy node


class ChatClient:
    def __init__(
        self,
        base_url: str | Callable[[], str],
        room: str,
        user: str,
        *,
        origin: str | None = None,
        headers: dict[str, str] | None = None,
        on_frame: Callable[[ServerFrame], None] | None = None,
        reconnect: bool = True,
    ) -> None:
        self.base_url = base_url
        self.room, self.user = room, user
        self.origin = origin
        self.headers = headers or {}  # the lab's own bots prove it (core.http.LAB_CLIENT_HEADER)
        self.on_frame = on_frame
        self.reconnect = reconnect
        self.last: int | None = None  # the last sequence number seen
        self.seqs: set[int] = set()
        self.messages: list[MessageFrame] = []
        self.frames: list[ServerFrame] = []  # everything but messages
        self.duplicates = self.out_of_order = self.frames_in = 0
        self.node: str | None = None
        self.closes: list[tuple[float, int | None]] = []  # (monotonic time, close code)
        self.opens: list[float] = []
        self.errors: list[str] = []  # why connection attempts failed
        self.connected = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._stopping = False
        self._changed = asyncio.Condition()

    # --- running ------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, read, reconnect (unless told not to) until stop()."""
        attempt = 0
        async with aiohttp.ClientSession() as session:
            while not self._stopping:
                try:
                    await self._session(session)
                    attempt = 0
                except aiohttp.WSServerHandshakeError as refused:
                    attempt += 1
                    self.errors.append(f"handshake refused: {refused.status} {refused.message}")
                except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                    attempt += 1
                    self.errors.append(repr(exc)[:200])
                if self._stopping or not self.reconnect:
                    return
                delay = min(RECONNECT_MAX_S, RECONNECT_MIN_S * 2 ** min(attempt, 5))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def url(self) -> str:
        base = self.base_url() if callable(self.base_url) else self.base_url
        query = {"user": self.user} | ({} if self.last is None else {"after": self.last})
        return f"{base.replace('http', 'ws', 1)}/ws/chat/{self.room}/?{urlencode(query)}"

    async def _session(self, session: aiohttp.ClientSession) -> None:
        # A handshake that hangs (its node died mid-way) must not hold the client forever.
        connecting = session.ws_connect(
            self.url(), origin=self.origin, headers=self.headers, heartbeat=None
        )
        ws = await asyncio.wait_for(connecting, HANDSHAKE_TIMEOUT_S)
        async with ws:
            self._ws = ws
            acker = asyncio.create_task(self._ack_forever(ws))
            try:
                # the welcome, too, must come in time: a node too busy to join us is left
                first = await ws.receive(timeout=HANDSHAKE_TIMEOUT_S)
                if first.type == aiohttp.WSMsgType.TEXT:
                    await self._on_frame(json.loads(first.data))
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await self._on_frame(json.loads(message.data))
            finally:
                acker.cancel()
                self._ws = None
                self.connected.clear()
                self.closes.append((time.monotonic(), ws.close_code))
                await self._notify()

    async def _ack_forever(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Acknowledge what this connection received: the node counts per connection, and
        refuses an ack of more than it sent on it."""
        before, acked = self.frames_in, 0
        with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
            while True:
                await asyncio.sleep(ACK_EVERY_S)
                if self.frames_in - before != acked:
                    acked = self.frames_in - before
                    await ws.send_str(json.dumps(AckFrame(type="ack", received=acked)))

    async def _on_frame(self, frame: ServerFrame) -> None:
        self.frames_in += 1
        kind = frame.get("type")
        if kind == "message":
            self._on_message(frame)
        else:
            self.frames.append(frame)
        if kind == "welcome":
            self.node = frame["node"]
            if self.last is None:
                self.last = frame["seq"]
            self.opens.append(time.monotonic())
            self.connected.set()
        if self.on_frame:
            self.on_frame(frame)
        await self._notify()

    def _on_message(self, frame: MessageFrame) -> None:
        seq = frame["seq"]
        if seq in self.seqs:
            self.duplicates += 1
            return
        if frame.get("history") and self.last is not None and seq <= self.last:
            self.seqs.add(seq)
            return
        if self.last is not None and seq < self.last:
            self.out_of_order += 1
        self.seqs.add(seq)
        self.messages.append(frame)
        self.last = max(self.last or 0, seq)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- using it -----------------------------------------------------------------

    async def send(self, text: str) -> str:
        """Send a chat message on the current connection; returns its client id."""
        await self.connected.wait()
        cid = uuid.uuid4().hex[:12]
        await self._ws.send_str(json.dumps(SendFrame(type="send", text=text, cid=cid)))
        return cid

    async def send_raw(self, raw: str) -> None:
        await self.connected.wait()
        await self._ws.send_str(raw)

    async def wait_until(self, condition: Callable[[], bool], what: str, within: float = 10):
        """Wait for a condition on this client's state; fail naming what never happened."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(condition), within)
            except TimeoutError:
                raise AssertionError(f"{self.user}: timed out waiting for {what}") from None

    def frames_of(self, kind: str) -> list[ServerFrame]:
        return [f for f in self.frames if f.get("type") == kind]

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            await self._ws.close()


@contextlib.asynccontextmanager
async def running(client: ChatClient, connect_timeout: float = 10):
    """Run a client in the background while the block runs; connected on entry."""
    task = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(client.connected.wait(), connect_timeout)
        yield client
    finally:
        await client.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
