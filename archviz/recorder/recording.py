"""Recording a run, once per lab: a state keyframe every second and the markers.

Runs in the supervised `recorder` process (one per lab, whatever the number of dashboards).
The trace events are recorded by every emitter already (the trace log); this adds what the
replay needs besides: the whole picture once a second, and the markers, from the trace
(faults, nodes down and up) and from who set the shared state (instructor actions).
"""

import asyncio
import contextlib
import json
import logging

import redis
from django.conf import settings

from archviz.core import hooks, keys
from archviz.core.redis_conn import async_blocking_client, shared_client
from archviz.recorder import markers
from archviz.recorder.keys import KEYFRAMES
from archviz.trace.cap import SizeCap
from archviz.trace.reader import parse_batch

log = logging.getLogger(__name__)

KEYFRAME_EVERY_S = 1.0


class Recorder:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.keyframes = 0
        self.markers = 0
        self._set_by: dict[str, dict] | None = None
        self._cap = SizeCap(KEYFRAMES, settings.ARCHVIZ_RECORDER_KEYFRAMES_MB * 1024 * 1024)

    def keyframe(self) -> None:
        """Record the whole picture now, and the instructor actions since the last one."""
        state = hooks.figure_source("lab")(self.client)  # the dashboard's read_lab_state
        self.client.xadd(KEYFRAMES, {"state": json.dumps(state)})  # id: Redis's clock, as the log's
        self.keyframes += 1
        if self._set_by is not None:
            for found in markers.from_set_by(self._set_by, state["set_by"]):
                self._add(found)
        self._set_by = state["set_by"]
        self._cap.maybe_trim(self.client)

    def on_batch(self, data: bytes) -> None:
        for event in parse_batch(data)[0]:
            if (found := markers.from_event(event)) is not None:
                self._add(found)

    def _add(self, found: markers.Marker) -> None:
        markers.add(self.client, found)
        self.markers += 1


async def keep_keyframes(recorder: Recorder, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(recorder.keyframe)
        except redis.RedisError as exc:
            log.debug("keyframe not recorded, Redis away: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), KEYFRAME_EVERY_S)


async def follow_trace(recorder: Recorder) -> None:
    """Markers from the trace as it is published (faults, nodes down and up)."""
    while True:
        try:
            async with async_blocking_client().pubsub() as pubsub:
                await pubsub.subscribe(keys.TRACE_CHANNEL)
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        await asyncio.to_thread(recorder.on_batch, message["data"])
        except (redis.RedisError, OSError) as exc:
            log.debug("recorder lost Redis (%s); retrying", exc)
            await asyncio.sleep(0.5)


async def record(stop: asyncio.Event) -> None:
    """Record until `stop` is set."""
    recorder = Recorder(shared_client())
    follower = asyncio.create_task(follow_trace(recorder))
    try:
        await keep_keyframes(recorder, stop)
    finally:
        follower.cancel()
