"""The traffic generator as the queue's front end: arrivals become jobs (XADD), in batches.

Jobs are stamped when they arrive and written every 20 ms in one pipeline, so a high
rate costs Redis one round trip per batch. While Redis is away, arrivals are dropped
and counted (the generator must not buffer without bound).
"""

import asyncio
import contextlib
import logging
import time

import redis
import redis.asyncio

from archviz.core.ratelimit import TokenBucket
from archviz.core.redis_conn import COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S, redis_url, shared_client
from archviz.queue import keys as queue_keys
from archviz.queue import streams
from archviz.queue.logic import MAX_JOB_WORK_MS, Job
from archviz.trace.emitter import get_emitter
from archviz.trace.events import now_ms

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.02
MAX_BUFFERED = 5_000
TRACE_PER_S = 40


class QueueProducer:
    def __init__(self) -> None:
        self._buffer: list[Job] = []
        self._client: redis.asyncio.Redis | None = None
        self._task: asyncio.Task | None = None
        self._bucket = TokenBucket(rate=TRACE_PER_S, burst=TRACE_PER_S)
        self.enqueued = 0
        self.dropped = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._flush_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                await self._client.aclose()

    def offer(self, work_ms: float) -> None:
        """One arrival, as a job asking for work_ms (capped at the queue's limit)."""
        if len(self._buffer) >= MAX_BUFFERED:
            self.dropped += 1
            return
        job_id = streams.new_job_id()
        job = Job(job_id, now_ms(), min(work_ms, MAX_JOB_WORK_MS), "traffic", job_id)
        self._buffer.append(job)

    def snapshot(self) -> dict[str, int]:
        return {"queue_enqueued": self.enqueued, "queue_dropped": self.dropped}

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            if self._buffer:
                batch, self._buffer = self._buffer, []
                await self._write(batch)

    async def _write(self, batch: list[Job]) -> None:
        if self._client is None:  # only once the queue is fed: a generator may run without it
            self._client = redis.asyncio.Redis.from_url(
                redis_url(), socket_timeout=COMMAND_TIMEOUT_S,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
            )  # fmt: skip
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for job in batch:
                    pipe.xadd(queue_keys.STREAM, job.to_fields())
                pipe.hincrby(queue_keys.STATS, "enqueued", len(batch))
                pipe.xlen(queue_keys.STREAM)
                length = (await pipe.execute())[-1]
        except (redis.RedisError, OSError) as exc:
            if self.dropped == 0 or self.enqueued:
                log.warning("could not enqueue %d jobs (Redis: %s); dropped", len(batch), exc)
            self.dropped += len(batch)
            return
        self.enqueued += len(batch)
        if length > streams.MAX_STREAM_JOBS:  # rare: the consumers are far behind
            with contextlib.suppress(redis.RedisError):  # the next batch tries again
                await asyncio.to_thread(streams.keep_bounded, shared_client(), length)
        now = time.monotonic()
        for job in batch:
            if self._bucket.take(now):
                get_emitter().emit("queue.enqueue", "redis", trace=job.trace, demo="queue",
                                   detail={"job": job.id, "by": "traffic"})  # fmt: skip
