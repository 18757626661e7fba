"""Each process's one trace emitter: buffers events and publishes them in batches.

`emit` never blocks the hot path: it appends to a bounded buffer under a lock. A
background thread publishes every 50 ms (or as soon as 200 events wait) to the pub/sub
channel and to the capped replay stream. While Redis is unreachable events stay
buffered; what overflows is counted and reported as a `trace.dropped` event.
"""

import json
import logging
import threading
from collections.abc import Callable

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from archviz.trace.batcher import Batcher
from archviz.trace.cap import SizeCap
from archviz.trace.events import TRACE_CHANNEL, TRACE_LOG, TraceEvent, make_event

log = logging.getLogger(__name__)

# The replay log is capped by size (ARCHVIZ_RECORDER_TRACE_MB, see the README): each emitter
# trims it once a second (trace/cap.py). The count is only a backstop, far past the size cap.
TRACE_LOG_BATCHES_BACKSTOP = 1_000_000


class Emitter:
    def __init__(
        self,
        source: str,
        *,
        client_factory: Callable[[], redis.Redis],
        flush_interval: float = 0.05,
        batch_size: int = 200,
        max_buffered: int = 10_000,
    ) -> None:
        self.source = source
        self.flush_interval = flush_interval
        self._client_factory = client_factory
        self._batcher = Batcher(batch_size=batch_size, max_buffered=max_buffered)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: redis.Redis | None = None
        self._reported_drops = 0
        self.published = 0
        self._log_cap = SizeCap(TRACE_LOG, settings.ARCHVIZ_RECORDER_TRACE_MB * 1024 * 1024)

    def emit(self, kind: str, dst: str, *, src: str | None = None, **fields) -> TraceEvent:
        """Make an event from this process and queue it for publishing."""
        event = make_event(kind, src or self.source, dst, **fields)
        self.publish(event)
        return event

    def publish(self, event: TraceEvent) -> None:
        with self._lock:
            self._batcher.add(event)
            ready = self._batcher.batch_ready()
        if ready:
            self._wake.set()

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "emitted": self._batcher.accepted,
                "published": self.published,
                "dropped": self._batcher.dropped,
                "buffered": len(self._batcher),
            }

    def start(self) -> "Emitter":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="trace-emitter", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 1.0) -> None:
        """Publish what is buffered (within the timeout) and stop the thread."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def flush(self) -> bool:
        """Publish everything buffered now; False if Redis refused."""
        while True:
            with self._lock:
                batch = self._batcher.take()
            if not batch:
                self._report_drops()
                return True
            if not self._send(batch):
                with self._lock:
                    self._batcher.put_back(batch)
                return False

    def _run(self) -> None:
        while not self._closing.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if not self.flush():
                self._closing.wait(0.25)  # Redis is away: retry without spinning
        self.flush()

    def _send(self, batch: list[TraceEvent]) -> bool:
        try:
            client = self._client or self._client_factory()
            self._client = client
            payload = json.dumps(batch)
            pipe = client.pipeline(transaction=False)
            pipe.publish(TRACE_CHANNEL, payload)
            # One stream entry per batch, not per event: the replay log costs Redis (on
            # the same cores as everything else) one command per 50 ms, not per hop.
            pipe.xadd(
                TRACE_LOG, {"batch": payload}, maxlen=TRACE_LOG_BATCHES_BACKSTOP, approximate=True
            )
            pipe.execute()
        except (redis.RedisError, ImproperlyConfigured) as exc:  # Redis away, or not set yet
            log.debug("trace publish failed, keeping %d events: %s", len(batch), exc)
            self._client = None
            return False
        self.published += len(batch)
        self._trim_log(client)
        return True

    def _trim_log(self, client: redis.Redis) -> None:
        """Keep the replay log under its size cap; a failure here loses no event."""
        try:
            self._log_cap.maybe_trim(client)
        except redis.RedisError as exc:
            log.debug("trace log not trimmed: %s", exc)

    def _report_drops(self) -> None:
        with self._lock:
            new_drops = self._batcher.dropped - self._reported_drops
            self._reported_drops = self._batcher.dropped
        if new_drops:
            self.emit("trace.dropped", "redis", ok=False, detail={"dropped": new_drops})


_process_emitter: Emitter | None = None


def configure(source: str, client_factory: Callable[[], redis.Redis]) -> Emitter:
    """Start this process's emitter, naming the component it speaks for."""
    global _process_emitter
    if _process_emitter is None:
        _process_emitter = Emitter(source, client_factory=client_factory).start()
    return _process_emitter


def get_emitter() -> Emitter:
    if _process_emitter is None:
        raise RuntimeError("the trace emitter is not configured in this process")
    return _process_emitter
