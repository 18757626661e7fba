"""The queue's Redis commands against a real Redis: dedupe, claims, dead letters, trimming."""

import redis

from archviz.queue import keys as queue_keys
from archviz.queue import streams
from archviz.queue.logic import parse_job
from archviz.trace.events import now_ms


def _stats(client: redis.Redis) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in client.hgetall(queue_keys.STATS).items()}


def test_a_job_finished_twice_is_counted_once(redis_client: redis.Redis) -> None:
    """The dedupe mark makes the second acknowledgement a duplicate, not a second effect."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 1, by="test")
    (delivery,) = streams.read_new(redis_client, "c1", 1, 100)
    job = parse_job(delivery.fields)
    assert streams.acknowledge(redis_client, "c1", [(delivery.stream_id, job)]) == (1, 1)
    assert streams.acknowledge(redis_client, "c2", [(delivery.stream_id, job)]) == (0, 0)
    stats = _stats(redis_client)
    assert (stats["processed"], stats["duplicates"], stats["acked"]) == (1, 1, 1)
    assert stats["processed:c1"] == 1 and stats.get("processed:c2", 0) == 0
    assert redis_client.llen(queue_keys.LATENCIES) == 1


def test_a_job_done_in_the_previous_dedupe_window_is_still_a_duplicate(
    redis_client: redis.Redis,
) -> None:
    """Marks live in a set per time window; the window before the current one counts too,
    and a batch naming one job twice counts it once."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 2, by="test")
    first, second = streams.read_new(redis_client, "c1", 2, 100)
    old, new = parse_job(first.fields), parse_job(second.fields)
    window = int(now_ms() // streams.DEDUPE_WINDOW_MS)
    redis_client.sadd(queue_keys.done(window - 1), old.id)
    done = [(first.stream_id, old), (second.stream_id, new), (second.stream_id, new)]
    assert streams.acknowledge(redis_client, "c1", done) == (1, 2)
    assert streams.done_marks(redis_client, [old.id, new.id, "never-enqueued"]) == [
        True,
        True,
        False,
    ]
    assert redis_client.pttl(queue_keys.done(window)) > streams.DEDUPE_WINDOW_MS


def test_an_idle_pending_job_is_claimed_with_its_delivery_count(redis_client) -> None:
    """XAUTOCLAIM hands another consumer the job, and the count says it is the 2nd delivery."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 1)
    streams.read_new(redis_client, "gone", 1, 100)
    (claimed,) = streams.claim_idle(redis_client, "alive", 0, 10)
    assert claimed.deliveries == 2
    summary = redis_client.xpending(queue_keys.STREAM, queue_keys.GROUP)
    assert [(c["name"], c["pending"]) for c in summary["consumers"]] == [(b"alive", 1)]


def test_a_restarted_consumer_reads_its_own_pending_jobs(redis_client) -> None:
    """Reading from id 0 returns what this name was given and never acknowledged."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 3)
    first = streams.read_new(redis_client, "c1", 3, 100)
    again = streams.read_own_pending(redis_client, "c1", 10)
    assert [d.stream_id for d in again] == [d.stream_id for d in first]
    assert all(d.deliveries == 2 for d in again)
    assert streams.read_own_pending(redis_client, "c2", 10) == []


def test_a_job_is_dead_lettered_once_with_its_reason(redis_client) -> None:
    """Only the consumer whose XACK removes it from the pending list writes the dead letter."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 1)
    (delivery,) = streams.read_new(redis_client, "c1", 1, 100)
    assert streams.dead_letter(redis_client, "c1", delivery, "too many deliveries")
    assert not streams.dead_letter(redis_client, "c2", delivery, "too many deliveries")
    (entry,) = redis_client.xrange(queue_keys.DEAD)
    assert entry[1][b"reason"] == b"too many deliveries"
    assert entry[1][b"stream_id"] == delivery.stream_id.encode()
    assert _stats(redis_client)["dead"] == 1


def test_trimming_never_deletes_a_pending_or_undelivered_job(redis_client) -> None:
    """Acknowledged jobs before the oldest pending one go; pending and new ones stay."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 10)
    delivered = streams.read_new(redis_client, "c1", 6, 100)
    done = [(d.stream_id, parse_job(d.fields)) for d in delivered[:2] + delivered[3:]]
    streams.acknowledge(redis_client, "c1", done)  # delivered[2] stays pending
    assert streams.trim(redis_client) == 2
    left = [sid.decode() for sid, _ in redis_client.xrange(queue_keys.STREAM)]
    assert left[0] == delivered[2].stream_id and len(left) == 8
    assert len(streams.read_new(redis_client, "c1", 10, 100)) == 4  # undelivered: all there
