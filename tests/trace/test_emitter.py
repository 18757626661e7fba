"""Emitter: buffered, batched publishing of trace events to a real Redis."""

import json
import time
from collections.abc import Iterator

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from archviz.core import keys
from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.trace.emitter import Emitter
from archviz.trace.events import TraceEvent
from tests.harness.wait_for import wait_for

SOURCE = "test-emitter"


@pytest.fixture
def trace_subscriber(redis_client: redis.Redis) -> Iterator[redis.client.PubSub]:
    """A pub/sub subscription to the trace channel, confirmed before the test emits."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.TRACE_CHANNEL)
    confirmation = pubsub.get_message(timeout=5.0)
    assert confirmation is not None and confirmation["type"] == "subscribe"
    yield pubsub
    pubsub.close()


@pytest.fixture
def emitter(redis_url: str) -> Iterator[Emitter]:
    emitter = Emitter(SOURCE, client_factory=lambda: sync_client(redis_url)).start()
    yield emitter
    emitter.close()


@pytest.fixture
def dead_redis_factory():
    """A client factory for a port nothing listens on."""
    url = f"redis://127.0.0.1:{free_port('127.0.0.1')}/0"
    return lambda: sync_client(url)


def _receive_batches(pubsub: redis.client.PubSub, count: int, deadline_s: float = 10.0):
    """Published batches from this test's emitter, until `count` events have arrived."""
    batches: list[list[TraceEvent]] = []
    deadline = time.monotonic() + deadline_s
    while sum(map(len, batches)) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            batch = [e for e in json.loads(message["data"]) if e["src"] == SOURCE]
            if batch:
                batches.append(batch)
    return batches


def _logged_events(client: redis.Redis, count: int, timeout: float = 10.0) -> list:
    """This emitter's events in the replay stream, once it holds `count` of them. Only its
    own: the session Redis is shared, and a process another test started may still flush
    what it buffered as it exits."""

    def logged() -> list:
        batches = [json.loads(fields[b"batch"]) for _id, fields in client.xrange(keys.TRACE_LOG)]
        return [event for batch in batches for event in batch if event["src"] == SOURCE]

    return wait_for(
        logged,
        f"{count} events in the replay stream",
        timeout,
        until=lambda events: len(events) >= count,
        interval=0.01,
    )


def test_emitted_events_are_published_and_logged(
    emitter: Emitter, trace_subscriber, redis_client: redis.Redis
):
    """Events reach the pub/sub channel as a JSON array and the replay stream."""
    sent = [emitter.emit("http.request", "node-1", detail={"n": i}) for i in range(3)]
    batches = _receive_batches(trace_subscriber, 3)
    assert [e for batch in batches for e in batch] == sent
    assert _logged_events(redis_client, len(sent)) == sent


def test_burst_arrives_in_batches_of_at_most_200(emitter: Emitter, trace_subscriber):
    """450 events emitted at once arrive complete, in order, in batches of ≤ 200."""
    sent = [emitter.emit("http.response", "client", detail={"n": i}) for i in range(450)]
    batches = _receive_batches(trace_subscriber, 450)
    assert [e for batch in batches for e in batch] == sent
    assert all(len(batch) <= 200 for batch in batches)
    assert len(batches) >= 3


def test_unreachable_redis_keeps_events_and_counts_drops(dead_redis_factory):
    """With Redis away, events stay buffered up to max_buffered; the rest count as dropped."""
    emitter = Emitter(SOURCE, client_factory=dead_redis_factory, max_buffered=100)
    for i in range(1000):
        emitter.emit("http.request", "node-1", detail={"n": i})
    assert emitter.flush() is False
    assert emitter.stats == {"emitted": 100, "published": 0, "dropped": 900, "buffered": 100}


def test_missing_redis_url_keeps_events_instead_of_ending_the_thread():
    """A process with no Redis configured yet keeps its events buffered; its thread lives."""

    def not_configured():
        raise ImproperlyConfigured("REDIS_URL is not set")

    emitter = Emitter(SOURCE, client_factory=not_configured, max_buffered=100)
    emitter.emit("http.request", "node-1")
    assert emitter.flush() is False
    assert emitter.stats["buffered"] == 1


def test_emit_never_blocks_while_redis_is_away(dead_redis_factory):
    """With the publishing thread failing, 1000 emits return and close() stops the thread."""
    emitter = Emitter(SOURCE, client_factory=dead_redis_factory, max_buffered=100).start()
    for i in range(1000):
        emitter.emit("http.request", "node-1", detail={"n": i})
    emitter.close(timeout=5.0)
    assert emitter._thread is not None and not emitter._thread.is_alive()
    stats = emitter.stats
    assert stats["published"] == 0
    assert stats["buffered"] <= 100
    assert stats["buffered"] + stats["dropped"] == 1000


def test_dropped_events_are_reported_as_a_trace_event(redis_url: str, trace_subscriber):
    """Events dropped on a full buffer are reported by a trace.dropped event after a flush."""
    emitter = Emitter(SOURCE, client_factory=lambda: sync_client(redis_url), max_buffered=10)
    for _ in range(15):
        emitter.emit("http.request", "node-1")
    assert emitter.flush() is True
    assert emitter.flush() is True  # publishes the trace.dropped report
    events = [e for batch in _receive_batches(trace_subscriber, 11) for e in batch]
    assert events[-1]["kind"] == "trace.dropped"
    assert events[-1]["detail"] == {"dropped": 5}
    assert emitter.stats["published"] == 11


def test_close_publishes_what_is_buffered_and_stops_the_thread(
    emitter: Emitter, redis_client: redis.Redis
):
    """close() flushes the buffer and the emitter thread ends."""
    sent = [emitter.emit("node.start", "node-1") for _ in range(5)]
    emitter.close(timeout=5.0)
    assert emitter._thread is not None and not emitter._thread.is_alive()
    assert _logged_events(redis_client, len(sent)) == sent
    assert emitter.stats["buffered"] == 0
