"""A consumer's loop in this process against a real Redis: poison and malformed jobs, a
restart that re-reads its own pending jobs first, and a Redis outage it waits out."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from archviz.core.redis_conn import blocking_client, sync_client
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.queue import keys as queue_keys
from archviz.queue import streams
from archviz.queue.worker import QueueWorker
from archviz.trace.emitter import Emitter
from archviz.trace.reader import recent_events
from tests.harness.wait_for import wait_for


@contextmanager
def running_worker(url: str, name: str = "w1", claim_idle_ms: int = 100) -> Iterator[QueueWorker]:
    """A QueueWorker on its own thread, stopped (and joined, its events flushed) on exit."""
    trace = Emitter(name, client_factory=lambda: sync_client(url)).start()
    worker = QueueWorker(
        name,
        blocking=blocking_client(url),
        client=sync_client(url),
        trace=trace,
        stop=threading.Event(),
        claim_idle_ms=claim_idle_ms,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop.set()
        thread.join(5)
        trace.close()
        assert not thread.is_alive(), "the worker did not stop"


def _stat(client: redis.Redis, name: str) -> int:
    return int(client.hget(queue_keys.STATS, name) or 0)


def test_a_poison_job_is_dead_lettered_after_three_failed_deliveries(
    redis_client, redis_url
) -> None:
    """The handler fails each time; the 4th delivery goes to the dead letters with the reason."""
    with running_worker(redis_url) as worker:
        streams.enqueue(redis_client, 1, fail=True)
        wait_for(lambda: _stat(redis_client, "dead") == 1, "the poison job dead-lettered")
        assert worker.counters.failed == 3 and worker.counters.redelivered == 2
    (entry,) = redis_client.xrange(queue_keys.DEAD)
    assert entry[1][b"reason"] == b"delivered 3 times without an acknowledgement"
    assert redis_client.xpending(queue_keys.STREAM, queue_keys.GROUP)["pending"] == 0


def test_a_malformed_payload_is_dead_lettered_and_the_consumer_carries_on(
    redis_client, redis_url
) -> None:
    """A bad field sends the job to the dead letters at once with its reason; the next is done."""
    with running_worker(redis_url):
        streams.ensure_group(redis_client)
        streams.enqueue_raw(redis_client, {"id": "j1", "ts": "yesterday"})
        streams.enqueue(redis_client, 1)
        wait_for(lambda: _stat(redis_client, "processed") == 1, "the good job processed")
    (entry,) = redis_client.xrange(queue_keys.DEAD)
    assert entry[1][b"reason"] == b"malformed payload: 'ts' must be a positive number (unix ms)"
    assert b"yesterday" in entry[1][b"payload"]
    assert _stat(redis_client, "dead") == 1


def test_a_restarted_consumer_finishes_its_own_pending_jobs_before_new_ones(
    redis_client, redis_url
) -> None:
    """Jobs given to w1 before it died are done by the new w1 first, not claimed by others."""
    streams.ensure_group(redis_client)
    first = streams.enqueue(redis_client, 3)
    streams.read_new(redis_client, "w1", 3, 100)  # w1 "dies" holding them
    later = streams.enqueue(redis_client, 2)
    with running_worker(redis_url, claim_idle_ms=60_000) as worker:
        wait_for(lambda: _stat(redis_client, "processed") == 5, "all five processed")
        assert worker.counters.redelivered == 3
    handed = [
        (e["kind"], e["detail"]["job"])
        for e in recent_events(redis_client, 200)
        if e["kind"] in ("queue.deliver", "queue.redeliver")
    ]
    assert handed == [("queue.redeliver", j.id) for j in first] + [
        ("queue.deliver", j.id) for j in later
    ]


def test_the_consumer_waits_out_a_redis_outage_and_resumes() -> None:
    """Redis stops under a running consumer; it comes back empty; jobs are done again."""
    server = EmbeddedRedis().start()
    try:
        client = sync_client(server.url)
        with running_worker(server.url) as worker:
            streams.enqueue(client, 1)
            wait_for(lambda: _stat(client, "processed") == 1, "a job before the outage")
            server.stop()
            wait_for(lambda: not worker.counters.redis_ok, "the outage noticed")
            server.start()  # same port, empty: no stream, no group
            wait_for(lambda: worker.counters.redis_ok, "Redis seen back", timeout=15)
            streams.enqueue(client, 2)
            wait_for(lambda: _stat(client, "processed") == 2, "jobs after the outage")
    finally:
        server.stop()
