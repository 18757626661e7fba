"""Replaying a recording on the lab socket: the same `state` and `trace` frames the pages
draw live, each flagged with `replay`, at 0.25x to 8x, from the nearest keyframe.

A lab socket attaches its outgoing subscription here (archviz/dashboard/consumers.py); while
a replay plays to it, the live feed skips it (`subscription.live` is False), and when the
replay ends or is stopped the tab gets the live state again. A replay for the whole class is
published on REPLAY_CHANNEL and kept in CLASS_REPLAY while it plays: every dashboard process
plays it to every tab it serves, and to a tab opened while it plays, from the keyframe before
where the class is, in step with it. A dashboard process that subscribes late (started during
the replay, or back after losing Redis) reads CLASS_REPLAY and joins the class the same way.
"""

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from archviz.core.redis_conn import async_blocking_client, shared_client
from archviz.recorder.keys import CLASS_REPLAY, REPLAY_CHANNEL
from archviz.recorder.source import Entry, Recording, recording_named

log = logging.getLogger(__name__)

MIN_SPEED, MAX_SPEED = 0.25, 8.0
WINDOW_MS = 5_000  # recording read ahead, a window at a time
TRACE_FRAME_BYTES = 60 * 1024  # under the lab socket's 64 KiB frames


class ReplayRefused(ValueError):
    """A replay that cannot be played; the message says why."""


class Tab(Protocol):
    """A lab socket's outgoing frames (dashboard/feed.py's Subscription)."""

    live: bool

    def offer(self, frame: str) -> None: ...


@dataclass(frozen=True)
class Plan:
    """A checked replay: which recording, from which keyframe to when, how fast."""

    recording: str
    start: int  # the keyframe it starts from (ms)
    end: int
    speed: float
    by: str | None
    everyone: bool

    def info(self, at: int) -> dict[str, Any]:
        return {
            "recording": self.recording,
            "start": self.start,
            "end": self.end,
            "at": at,
            "speed": self.speed,
            "by": self.by,
            "everyone": self.everyone,
        }


def check(
    span: tuple[int, int] | None, start: int, end: int | None, speed: float
) -> tuple[int, int]:
    """The range to replay, or ReplayRefused saying why not (pure)."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ReplayRefused(f"speed must be from {MIN_SPEED}x to {MAX_SPEED:g}x, not {speed:g}x")
    if span is None:
        raise ReplayRefused("nothing is recorded yet")
    end = span[1] if end is None else end
    if not span[0] <= start <= span[1] or not span[0] <= end <= span[1]:
        raise ReplayRefused(
            f"beyond the recorded range: it covers {span[0]} to {span[1]} (unix ms), "
            f"{(span[1] - span[0]) / 1000:.1f} s"
        )
    if end <= start:
        raise ReplayRefused("the replay's end must be after its start")
    return start, end


def plan_for(client: redis.Redis, message: dict, by: str | None, everyone: bool) -> Plan:
    """Check a replay request against its recording; the plan starts from a keyframe."""
    name = message.get("recording", "live")
    recording = recording_named(client, name)
    if recording is None:
        raise ReplayRefused(f"no recording named {name!r}")
    start, end = check(recording.span(), message["start"], message.get("end"), message["speed"])
    keyframe = recording.keyframe_at_or_before(start) or next(
        recording.entries("keyframes", start, end), None
    )
    if keyframe is None:
        raise ReplayRefused("no state keyframe in that range to start the picture from")
    return Plan(name, keyframe.ms, end, float(message["speed"]), by, everyone)


def frames_of(entry: Entry, plan: Plan) -> list[str]:
    """An entry as the frames a page draws, flagged as replay (pure)."""
    flag = plan.info(entry.ms)
    if entry.stream == "keyframes":
        return [
            json.dumps({"type": "state", "state": entry.data, "invalid_events": 0, "replay": flag})
        ]
    return _trace_frames(entry.data, flag)


def _trace_frames(events: list, flag: dict) -> list[str]:
    text = json.dumps({"type": "trace", "events": events, "replay": flag})
    if len(text) <= TRACE_FRAME_BYTES or len(events) < 2:
        return [text] if len(text) <= TRACE_FRAME_BYTES else []
    half = len(events) // 2
    return _trace_frames(events[:half], flag) + _trace_frames(events[half:], flag)


def first_frame(client: redis.Redis, plan: Plan) -> str:
    """The keyframe the replay starts from, as a state frame (the handler's answer)."""
    recording = recording_named(client, plan.recording)
    keyframe = recording.keyframe_at_or_before(plan.start) if recording else None
    if keyframe is None:
        raise ReplayRefused("the recording changed: its keyframe is gone")
    return frames_of(keyframe, plan)[0]


class Replays:
    """This dashboard process's tabs, and the replays playing to them."""

    def __init__(self) -> None:
        self._tabs: dict[str, tuple[Tab, Callable[[], str | None]]] = {}
        self._playing: dict[str, asyncio.Task] = {}
        self._listener: asyncio.Task | None = None
        self._class: tuple[Plan, float] | None = None  # the class's replay, and when it began
        self._class_began_ms: int | None = None  # its start as published: which replay it is

    def attach(self, socket: str, tab: Tab, live_frame: Callable[[], str | None]) -> None:
        """A lab socket opened: `live_frame()` is the live state frame to return it to. While
        the class watches a replay, the new tab joins it where the class is."""
        self._tabs[socket] = (tab, live_frame)
        self._listen()
        if self._class_at() is not None:
            self._join_class([socket])

    def detach(self, socket: str) -> None:
        self._tabs.pop(socket, None)
        if (task := self._playing.pop(socket, None)) is not None:
            task.cancel()

    @property
    def replaying(self) -> int:
        """How many of this process's tabs a replay plays to."""
        return len(self._playing)

    def start(self, sockets: list[str], plan: Plan) -> None:
        """Play `plan` to these tabs (one reader; each tab gets the same frames)."""
        self._play_to(sockets, lambda tabs: self._play(plan, tabs))

    def stop(self, socket: str, back_to_live: bool = True) -> None:
        task = self._playing.pop(socket, None)
        if task is not None:
            task.cancel()
        if back_to_live and socket in self._tabs:
            self._back_to_live(socket)

    def live_frame(self, socket: str) -> str | None:
        """The live state frame of this tab's dashboard (None before its first)."""
        return self._tabs[socket][1]() if socket in self._tabs else None

    def sockets(self) -> list[str]:
        return list(self._tabs)

    def _class_at(self) -> int | None:
        """Where the class's replay is now (recording ms), None when none plays."""
        if self._class is None:
            return None
        plan, began = self._class
        at = plan.start + (asyncio.get_running_loop().time() - began) * 1000 * plan.speed
        if at >= plan.end:
            self._class = None
            return None
        return int(at)

    def _join_class(self, sockets: list[str]) -> None:
        """Play the class's replay to these tabs where the class is now (one reader)."""
        plan, began = self._class
        at = self._class_at()
        self._play_to(sockets, lambda tabs: self._join(plan, began, at, tabs))

    def _play_to(self, sockets: list[str], playing: Callable[[dict[str, Tab]], Coroutine]) -> None:
        """Stop what plays to these tabs, and play `playing(tabs)` to them instead."""
        for socket in sockets:
            self.stop(socket, back_to_live=False)
        tabs = {s: self._tabs[s][0] for s in sockets if s in self._tabs}
        for tab in tabs.values():
            tab.live = False
        task = asyncio.create_task(playing(tabs))
        for socket in tabs:
            self._playing[socket] = task

    async def _join(self, plan: Plan, began: float, at: int, tabs: dict[str, Tab]) -> None:
        """Play the class's replay from the keyframe before `at`, whose frames up to `at` go
        at once, then in step with the class."""
        keyframe = None
        try:
            recording = await asyncio.to_thread(recording_named, shared_client(), plan.recording)
            if recording is not None:
                keyframe = await asyncio.to_thread(recording.keyframe_at_or_before, at)
        except redis.RedisError as exc:
            log.warning("a late tab joins the class's replay without its keyframe: %s", exc)
        await self._play(plan, tabs, began, keyframe.ms if keyframe else at)

    def _back_to_live(self, socket: str) -> None:
        tab, live_frame = self._tabs[socket]
        tab.live = True
        if (frame := live_frame()) is not None:
            tab.offer(frame)

    async def _play(
        self, plan: Plan, tabs: dict[str, Tab], began: float | None = None, from_ms: int = 0
    ) -> None:
        """Offer `plan`'s frames to `tabs` in time, as if it began at loop time `began`,
        from recording time `from_ms` (default: all of it, starting now)."""
        loop = asyncio.get_running_loop()
        began = loop.time() if began is None else began
        try:
            async for entry in _entries(plan, max(from_ms, plan.start)):
                wait = began + (entry.ms - plan.start) / 1000 / plan.speed - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                for frame in frames_of(entry, plan):
                    for tab in tabs.values():
                        tab.offer(frame)
        except redis.RedisError as exc:
            log.warning("replay stopped, Redis away: %s", exc)
        finally:
            for socket in tabs:
                if self._playing.get(socket) is asyncio.current_task():
                    del self._playing[socket]
                    self._back_to_live(socket)

    def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        if self._listener is None or self._listener.get_loop() is not loop:
            self._listener = asyncio.create_task(self._follow_class())

    async def _follow_class(self) -> None:
        """An instructor's replay for the class, from whichever dashboard they are on."""
        while True:
            try:
                async with async_blocking_client().pubsub() as pubsub:
                    await pubsub.subscribe(REPLAY_CHANNEL)
                    await self._catch_up()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._on_class_message(message["data"])
            except (redis.RedisError, OSError) as exc:
                log.debug("replay listener lost Redis (%s); retrying", exc)
                await asyncio.sleep(0.5)

    async def _catch_up(self) -> None:
        """Once subscribed: the class's replay that began before, or none (then one this
        process was playing has been stopped while it was not listening)."""
        kept = await asyncio.to_thread(shared_client().get, CLASS_REPLAY)
        if kept is not None:
            self._on_class_message(kept)
        elif self._class is not None:
            self._end_class()

    def _on_class_message(self, data: bytes | str) -> None:
        try:
            found = json.loads(data)
            action = found.get("action")
            if action == "start":
                plan, began_ms = Plan(**found["plan"]), int(found["began_ms"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return  # not ours: whoever can write to Redis can publish here
        if action == "start" and began_ms != self._class_began_ms:  # not one already playing
            ago_s = max(0.0, time.time() - began_ms / 1000)
            began = asyncio.get_running_loop().time() - ago_s
            self._class, self._class_began_ms = (plan, began), began_ms
            if self._class_at() is not None:
                self._join_class(self.sockets())
        elif action == "stop":
            self._end_class()

    def _end_class(self) -> None:
        """The class's replay is over: every tab it played to goes back to live."""
        self._class = self._class_began_ms = None
        for socket in list(self._playing):
            self.stop(socket)


async def _entries(plan: Plan, lower: int):
    """The plan's keyframes and trace batches in time order from `lower`, read a window at a
    time; the first keyframe is also the handler's answer, for the tab that asked."""
    recording = recording_named(shared_client(), plan.recording)
    if recording is None:
        return
    while lower <= plan.end:
        upper = min(lower + WINDOW_MS, plan.end)
        for entry in await asyncio.to_thread(Recording.timeline, recording, lower, upper):
            yield entry
        lower = upper + 1


def publish_for_class(client: redis.Redis, action: str, plan: Plan | None = None) -> int:
    """Start (`plan`) or stop the class's replay in every dashboard process: kept in
    CLASS_REPLAY until it ends, for the processes that subscribe later, and published."""
    body = {"action": action}
    with client.pipeline() as pipe:
        if plan is not None:
            body |= {"plan": plan.__dict__, "began_ms": int(time.time() * 1000)}
            lasts_ms = math.ceil((plan.end - plan.start) / plan.speed) + 1000
            pipe.set(CLASS_REPLAY, json.dumps(body), px=lasts_ms)
        else:
            pipe.delete(CLASS_REPLAY)
        pipe.publish(REPLAY_CHANNEL, json.dumps(body))
        return pipe.execute()[-1]


replays = Replays()
