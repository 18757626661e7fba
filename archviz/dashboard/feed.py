"""The live feed of one dashboard process: Redis in, every open lab page out.

One pub/sub subscription and one state reader per process, however many tabs are
open; several dashboard processes each run their own against the same Redis, so they
all show the same lab. A tab that reads too slowly misses frames, and is told how many (a
`lagging` frame): those its queue has no room for, and those that waited in it over
MAX_FRAME_AGE_S (256 frames are some 13 s of a busy lab: a tab would be seconds behind before
its queue filled). Trace events that fail validation are dropped, and every state frame says
how many.

Each frame is encoded to JSON once, here, for every tab: encoding it per tab made the
dashboard's event loop work in proportion to its tabs. A batch whose frame would pass the
lab socket's 64 KiB cap (autobahn enforces it on what the server sends too, and refuses the
whole frame) goes out as several frames; an event too big for any frame is dropped and
counted with the invalid ones.
"""

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable

import redis

from archviz.core import hooks, keys
from archviz.core.labsocket import MAX_FRAME_BYTES
from archviz.core.redis_conn import async_blocking_client, shared_client
from archviz.dashboard.messages import LabState, LaggingFrame, StateFrame, TraceFrame
from archviz.dashboard.state import read_lab_state, unreachable
from archviz.trace.reader import parse_batch

log = logging.getLogger(__name__)

STATE_EVERY_S = 0.5  # at least this often, even with no heartbeat (catches expiry)
# and at most every STATE_GAP_S: a heartbeat wakes the reader at once (a node down shows at
# once), but every process of the lab beats twice a second, and a state per beat was a
# frame per beat to every tab
STATE_GAP_S = 0.25
QUEUE_FRAMES = 256
MAX_FRAME_AGE_S = 1.0  # a frame that waited longer for its tab is dropped and counted
TRACE_FRAME_BYTES = MAX_FRAME_BYTES - 1024  # a trace frame's JSON at most (ASCII: bytes)


class Subscription:
    """One open page's outgoing frames, encoded.

    A tab that has taken everything is sent a frame at once, by the feed's own task
    (`deliver`, the page's socket's send): a queue and a task switch per tab per frame cost
    the dashboard some 40 % more CPU per frame than a bare daphne broadcast
    (bench/classroom.py). Frames wait in the queue, each with when it was queued, only while
    the tab's pump is still sending earlier ones: the order is kept."""

    def __init__(self, max_age_s: float = MAX_FRAME_AGE_S) -> None:
        self.queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue(maxsize=QUEUE_FRAMES)
        self.max_age_s = max_age_s
        self.dropped = 0
        self._reported = 0
        self._next: str | None = None
        self._behind = False  # frames are queued, or the pump is sending one
        self.deliver: Callable[[str], Awaitable[bool]] | None = None  # the tab's send, if set
        self.live = True  # False while a replay plays to this page (archviz/recorder/replay.py)

    async def push(self, frame: str) -> None:
        """Send the frame now if the tab is not behind, else queue it after the others."""
        if self.deliver is None or self._behind:
            self.offer(frame)
            return
        await self.deliver(frame)

    def offer(self, frame: str) -> None:
        self._behind = True
        try:
            self.queue.put_nowait((time.monotonic(), frame))
        except asyncio.QueueFull:
            self.dropped += 1

    def sent(self) -> None:
        """The pump sent what it took: the tab is caught up once nothing more waits."""
        if self.queue.empty() and self._next is None and self.dropped == self._reported:
            self._behind = False

    async def next_frame(self) -> str:
        """The next frame's JSON, preceded by a `lagging` notice if frames were dropped."""
        if self._next is None:
            self._next = await self._fresh_frame()
        if self.dropped > self._reported:
            missed = self.dropped - self._reported
            self._reported = self.dropped
            return json.dumps(LaggingFrame(type="lagging", dropped=missed))
        frame, self._next = self._next, None
        return frame

    async def _fresh_frame(self) -> str:
        """The oldest queued frame that is not too old; the ones before it are dropped."""
        while True:
            queued_at, frame = await self.queue.get()
            if time.monotonic() - queued_at <= self.max_age_s:
                return frame
            self.dropped += 1


def trace_frames(events: list, max_bytes: int = TRACE_FRAME_BYTES) -> tuple[list[str], int]:
    """The events as encoded trace frames of at most `max_bytes` each, in order, and how
    many events were too big for a frame of their own."""
    text = json.dumps(TraceFrame(type="trace", events=events))
    if len(text) <= max_bytes:
        return [text], 0
    if len(events) == 1:
        return [], 1
    half = len(events) // 2
    first, too_big = trace_frames(events[:half], max_bytes)
    rest, more = trace_frames(events[half:], max_bytes)
    return first + rest, too_big + more


class LabFeed:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._forwarded_only: set[Subscription] = set()  # tabs that want only those frames
        self._pongs: dict[str, tuple[str, asyncio.Future]] = {}  # trace -> (nonce, future)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.last_state: LabState | None = None
        self.invalid_events = 0  # trace events received that failed validation, since start
        self.ignored_pongs = 0  # pongs for no ping of ours, or with the wrong nonce (forged)
        self.too_slow_closes = 0  # lab sockets closed for not taking their frames, since start

    def subscribe(self, *, forwarded_only: bool = False) -> Subscription:
        """A tab's frames; `forwarded_only`: only the apps' forwarded channels' (a class bar)."""
        self._start()
        subscription = Subscription()
        if forwarded_only:
            self._forwarded_only.add(subscription)
            return subscription
        self._subscriptions.add(subscription)
        if self.last_state is not None:
            subscription.offer(json.dumps(self._state_frame(self.last_state)))
        return subscription

    def live_state_frame(self) -> str | None:
        """The latest live state as a frame (a tab back from a replay gets it at once)."""
        return None if self.last_state is None else json.dumps(self._state_frame(self.last_state))

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        self._forwarded_only.discard(subscription)

    @property
    def open_sockets(self) -> int:
        return len(self._subscriptions) + len(self._forwarded_only)

    def count_too_slow(self) -> None:
        if self.too_slow_closes == 0:
            log.warning("closed a lab socket too far behind (4008); the lab page counts them")
        self.too_slow_closes += 1

    def expect_pong(self, trace: str, nonce: str) -> asyncio.Future:
        """A future resolved when a node's pong with this trace id and this nonce arrives via
        Redis. Trace ids are on every page (the trace log), the nonce only in the dashboard's
        own request to the node, so a pong that someone else had a node send is ignored."""
        self._start()
        future = asyncio.get_running_loop().create_future()
        self._pongs[trace] = (nonce, future)
        future.add_done_callback(lambda _: self._pongs.pop(trace, None))
        return future

    async def stop(self) -> None:
        """Cancel the listener and the state reader (they restart with the next subscriber)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if not self._tasks or self._tasks[0].get_loop() is not loop:
            self._wake = asyncio.Event()  # bound to the running loop
            self._tasks = [
                # Pongs and heartbeats on a connection of their own: behind a backlog of
                # trace batches a learner's pong waited its turn (hundreds of ms, measured by
                # bench/abuse while the balancer was flooded).
                asyncio.create_task(self._listen(keys.TRACE_CHANNEL)),
                asyncio.create_task(
                    self._listen(keys.HEARTBEAT_CHANNEL, keys.PONG_CHANNEL, *hooks.feed_channels())
                ),
                asyncio.create_task(self._publish_states()),
            ]

    async def _broadcast(self, frame: str) -> None:
        """A live frame to every tab but those a replay plays to."""
        for subscription in [s for s in self._subscriptions if s.live]:
            await self._push(subscription, frame)

    async def _forward(self, frame: str) -> None:
        """An app's frame (the class's) to every tab, the class bars' too, replay or not."""
        for subscription in [*self._subscriptions, *self._forwarded_only]:
            await self._push(subscription, frame)

    async def _push(self, subscription: Subscription, frame: str) -> None:
        try:
            await subscription.push(frame)
        except Exception:  # one tab's broken send must not stop every other tab's feed
            log.exception("a lab socket's send failed; it gets no more frames")
            self.unsubscribe(subscription)

    async def _listen(self, *channels: str) -> None:
        while True:
            try:
                client = async_blocking_client()
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(*channels)
                    self._wake.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            await self._on_message(message["channel"], message["data"])
                            await asyncio.sleep(0)  # a backlog read at once is no monopoly
            except (redis.RedisError, OSError) as exc:
                log.debug("feed lost Redis (%s); retrying", exc)
                self._wake.set()
                await asyncio.sleep(0.5)

    async def _on_message(self, channel: bytes, data: bytes) -> None:
        if channel == keys.TRACE_CHANNEL.encode():
            events, invalid = parse_batch(data)
            frames, too_big = trace_frames(events) if events else ([], 0)
            if invalid or too_big:
                self._count_invalid(invalid + too_big)
            for frame in frames:
                await self._broadcast(frame)
        elif channel == keys.HEARTBEAT_CHANNEL.encode():
            self._wake.set()
        elif channel == keys.PONG_CHANNEL.encode():
            self._on_pong(data)
        elif channel.decode() in hooks.feed_channels() and len(data) <= MAX_FRAME_BYTES:
            await self._forward(data.decode())

    def _count_invalid(self, invalid: int) -> None:
        if self.invalid_events == 0:
            log.warning("dropped %d invalid trace event(s); the pages count them from now", invalid)
        self.invalid_events += invalid

    def _state_frame(self, state: LabState) -> StateFrame:
        return StateFrame(type="state", state=state, invalid_events=self.invalid_events)

    def _on_pong(self, data: bytes) -> None:
        try:
            pong = json.loads(data)
            nonce, future = self._pongs.get(pong["trace"], ("", None))
            sent = pong.get("nonce")
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        if (
            future is None
            or future.done()
            or not isinstance(sent, str)
            or not hmac.compare_digest(sent.encode(), nonce.encode())
        ):
            self.ignored_pongs += 1
            return
        future.set_result(pong)

    async def _publish_states(self) -> None:
        """Send the whole picture after a heartbeat (coalesced: at most one every
        STATE_GAP_S), and every STATE_EVERY_S without one."""
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
            # cancellation that stops this task, which then loops for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATE_EVERY_S):
                    await self._wake.wait()
            self._wake.clear()
            try:
                state = await asyncio.to_thread(read_lab_state, shared_client())
            except redis.RedisError:
                state = unreachable(self.last_state)
            self.last_state = state
            await self._broadcast(json.dumps(self._state_frame(state)))
            await asyncio.sleep(STATE_GAP_S)  # the beats meanwhile make one read, after it


feed = LabFeed()
