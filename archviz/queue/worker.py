"""One consumer's loop: its own pending jobs first, then new ones; claims, dead letters, trims.

Runs on the main thread of `manage.py consumer`; the heartbeat thread reads `snapshot`.
Redis going away makes the loop wait and resume (with the group re-created if Redis
came back empty), never exit.
"""

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import redis

from archviz.core.ratelimit import TokenBucket
from archviz.queue import streams
from archviz.queue.logic import (
    CLAIM_IDLE_MS,
    Job,
    MalformedJob,
    dead_reason,
    job_cost_ms,
    parse_job,
    read_count,
    should_flush,
    verdict,
)
from archviz.queue.streams import Delivery
from archviz.trace.emitter import Emitter
from archviz.trace.events import now_ms

log = logging.getLogger(__name__)

BLOCK_MS = 500  # how long a read waits for new jobs: also how soon a stop is noticed
CLAIM_EVERY_S = 1.0
TRIM_EVERY_S = 2.0
CLAIM_COUNT = 10
TRACE_PER_S = 40  # per-job trace events (dots) per second, at most; the rest are counted
RETRY_MAX_S = 2.0


class JobFailed(Exception):
    """The handler could not do the job: it stays pending and comes back later."""


@dataclass
class Counters:
    """What this consumer did since it started (its heartbeat publishes them)."""

    processed: int = 0  # jobs whose effect this consumer applied
    duplicates: int = 0  # jobs it finished that someone had already finished
    redelivered: int = 0  # jobs it got on a second (or later) delivery
    failed: int = 0
    dead: int = 0
    trace_skipped: int = 0
    busy_job: str = ""
    redis_ok: bool = True
    samples: deque = field(default_factory=lambda: deque(maxlen=32))  # (unix ms, processed)


class QueueWorker:
    def __init__(
        self,
        name: str,
        *,
        blocking: redis.Redis,
        client: redis.Redis,
        trace: Emitter,
        stop: threading.Event,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self.name = name
        self.blocking = blocking  # socket_timeout=None: XREADGROUP BLOCK
        self.client = client
        self.trace = trace
        self.stop = stop
        self.claim_idle_ms = claim_idle_ms
        self.work_ms = 0.0  # the admin's per-job cost, refreshed by the heartbeat
        self.counters = Counters()
        self._lock = threading.Lock()
        self._bucket = TokenBucket(rate=TRACE_PER_S, burst=TRACE_PER_S)
        self._last_cost_ms: float | None = None
        self._next_claim = 0.0
        self._next_trim = 0.0
        self._recovered = False
        self._dry_until_batch = False  # the trace bucket ran dry during this batch

    # --- the loop ------------------------------------------------------------------

    def run(self) -> None:
        """Until stopped: one step at a time, waiting out Redis outages."""
        outage_s = 0.0
        while not self.stop.is_set():
            try:
                self.step()
            except redis.RedisError as exc:
                outage_s = min(RETRY_MAX_S, max(0.25, outage_s * 2))
                if self.counters.redis_ok:
                    log.warning("%s: Redis unreachable (%s); waiting to resume", self.name, exc)
                self.counters.redis_ok = False
                self._recovered = False  # it may come back empty: re-create, re-read
                self.stop.wait(outage_s)
                continue
            if not self.counters.redis_ok:
                log.info("%s: Redis is back; resuming", self.name)
            self.counters.redis_ok, outage_s = True, 0.0

    def step(self) -> None:
        if not self._recovered:
            streams.ensure_group(self.client)
            self._drain_own_pending()
            self._recovered = True
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + CLAIM_EVERY_S
            self.handle(streams.claim_idle(self.client, self.name, self.claim_idle_ms, CLAIM_COUNT))
        if now >= self._next_trim:
            self._next_trim = now + TRIM_EVERY_S
            streams.trim(self.client)
        count = read_count(self._last_cost_ms)
        self.handle(streams.read_new(self.blocking, self.name, count, BLOCK_MS))

    def _drain_own_pending(self) -> None:
        """After a (re)start, finish what this consumer was given before, before anything new."""
        while not self.stop.is_set():
            own = streams.read_own_pending(self.client, self.name, CLAIM_COUNT)
            if not own:
                return
            self.handle(own)

    # --- jobs --------------------------------------------------------------------

    def handle(self, deliveries: list[Delivery]) -> None:
        """Work through a batch, acknowledging as it goes; a failure never stops the loop."""
        done: list[tuple[str, Job]] = []
        oldest = 0.0
        self._dry_until_batch = False
        for delivery in deliveries:
            if self.stop.is_set():
                break  # the rest stay pending for this name: re-read on restart
            job = self._accept(delivery)
            if job is None:
                continue
            if self._work(delivery, job):
                oldest = oldest or time.monotonic()
                done.append((delivery.stream_id, job))
            if should_flush(len(done), (time.monotonic() - oldest) * 1000, batch_done=False):
                self._ack(done)
                done, oldest = [], 0.0
        if should_flush(len(done), 0.0, batch_done=True):
            self._ack(done)

    def _accept(self, delivery: Delivery) -> Job | None:
        """The job to work on, or None when it goes to the dead letters instead."""
        if verdict(delivery.deliveries) == "dead":
            self._dead(delivery, dead_reason(delivery.deliveries))
            return None
        try:
            job = parse_job(delivery.fields)
        except MalformedJob as exc:
            self._dead(delivery, f"malformed payload: {exc}")
            return None
        if delivery.deliveries > 1:
            self.counters.redelivered += 1
            streams.count_redelivered(self.client, 1)
            self._emit("queue.redeliver", job, src="redis", dst=self.name,
                       detail={"deliveries": delivery.deliveries}, force=True)  # fmt: skip
        else:
            self._emit("queue.deliver", job, src="redis", dst=self.name)
        return job

    def _work(self, delivery: Delivery, job: Job) -> bool:
        cost = job_cost_ms(job, self.work_ms)
        self.counters.busy_job = delivery.stream_id
        try:
            if cost > 0:
                time.sleep(cost / 1000)
            if job.fail:
                raise JobFailed("the job asked to fail (a poison job)")
        except JobFailed as exc:
            self.counters.failed += 1
            streams.count_failure(self.client)
            detail = {"reason": str(exc), "deliveries": delivery.deliveries}
            self._emit("queue.fail", job, src=self.name, dst="redis", ok=False, detail=detail,
                       force=True)  # fmt: skip
            return False
        finally:
            self.counters.busy_job = ""
            self._last_cost_ms = cost
        return True

    def _ack(self, done: list[tuple[str, Job]]) -> None:
        fresh, _acked = streams.acknowledge(self.client, self.name, done)
        now = now_ms()
        with self._lock:
            self.counters.processed += fresh
            self.counters.duplicates += len(done) - fresh
        for _stream_id, job in done:
            self._emit("queue.ack", job, src=self.name, dst="redis", ms=now - job.ts)
        if fresh < len(done):
            self.trace.emit("queue.duplicate", "redis", detail={"consumer": self.name,
                            "duplicates": len(done) - fresh})  # fmt: skip

    def _dead(self, delivery: Delivery, reason: str) -> None:
        if streams.dead_letter(self.client, self.name, delivery, reason):
            self.counters.dead += 1
            self.trace.emit("queue.dead", "redis", ok=False,
                            detail={"stream_id": delivery.stream_id, "reason": reason})  # fmt: skip

    def _emit(self, kind: str, job: Job, *, force: bool = False, **fields) -> None:
        """Per-job events are sampled (at most TRACE_PER_S a second); the rest are counted."""
        if not force and not self._sampled():
            self.counters.trace_skipped += 1
            return
        fields["detail"] = {"job": job.id, **fields.get("detail", {})}
        self.trace.emit(kind, fields.pop("dst"), trace=job.trace or None, demo="queue", **fields)

    def _sampled(self) -> bool:
        """A token from the bucket, asked at most once per batch once it ran dry: a busy
        consumer does not pay a clock read per job for events it will not send."""
        if self._dry_until_batch:
            return False
        if self._bucket.take(time.monotonic()):
            return True
        self._dry_until_batch = True
        return False

    # --- for the heartbeat ---------------------------------------------------------

    def snapshot(self, window_s: float = 5.0) -> dict:
        """This consumer's numbers, for its heartbeat (called from the heartbeat thread)."""
        c = self.counters
        with self._lock:
            c.samples.append((now_ms(), c.processed))
        newest = c.samples[-1]
        oldest = next(s for s in c.samples if s[0] >= newest[0] - window_s * 1000)
        seconds = (newest[0] - oldest[0]) / 1000
        return {
            "work_ms": self.work_ms,
            "busy": bool(c.busy_job),
            "busy_job": c.busy_job,
            "processed_total": c.processed,
            "duplicates_total": c.duplicates,
            "redelivered_total": c.redelivered,
            "failed_total": c.failed,
            "dead_total": c.dead,
            "trace_skipped": c.trace_skipped,
            "redis_ok": c.redis_ok,
            "jobs_per_s": round((newest[1] - oldest[1]) / seconds, 2) if seconds > 0 else 0.0,
        }
