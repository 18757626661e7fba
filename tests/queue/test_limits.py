"""The queue's bounds: learners' jobs are rate-limited (per user, per address, in total, in
Redis), refusals are counted, and a backlog past its bound loses its oldest undelivered jobs."""

import pytest
import redis
from django.contrib.auth.models import AnonymousUser

from archviz.core import labsocket
from archviz.core.instructor import ControlRefused
from archviz.queue import keys as queue_keys
from archviz.queue import socket, streams
from archviz.queue.logic import parse_job
from archviz.queue.state import read_queue

pytestmark = pytest.mark.usefixtures("dashboard_emitter")


def _stats(client: redis.Redis) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in client.hgetall(queue_keys.STATS).items()}


def _slow_refill(burst: int) -> tuple[float, int]:
    """The same burst, refilled so slowly that a loaded machine's slow requests do not earn
    a batch back before the cap is reached (at 100 jobs/s, ten requests taking 0.2 s did)."""
    return (0.01, burst)


async def _enqueue(count: int, caller: labsocket.Caller) -> None:
    with labsocket.calling_as(caller):
        await socket.enqueue_jobs(AnonymousUser(), count, "normal")


async def test_a_learner_past_the_burst_is_refused_with_the_reason_and_counted(
    redis_client: redis.Redis,
):
    """Two requests of 20 pass (the burst is 40); the third is refused, saying why, and its
    jobs are counted as refused, not enqueued."""
    tab = labsocket.Caller("tab-1", "10.0.0.1")
    await _enqueue(20, tab)
    await _enqueue(20, tab)
    with pytest.raises(ControlRefused) as refused:
        await _enqueue(20, tab)
    assert refused.value.status == 429
    assert "too many jobs: at most 10 jobs a second (40 at once) each" in refused.value.reason
    assert "try again in" in refused.value.reason
    stats = _stats(redis_client)
    assert (stats["enqueued"], stats["refused"]) == (40, 20)
    assert redis_client.xlen(queue_keys.STREAM) == 40
    view = read_queue(redis_client, {}, [], {})
    assert view["refused_total"] == 20 and view["backlog"] == 40


async def test_an_address_is_capped_over_all_its_anonymous_tabs(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
):
    """New tabs from one address do not get a fresh allowance each past the address's cap."""
    burst = socket.JOBS_PER_ADDRESS[1]
    monkeypatch.setattr(socket, "JOBS_PER_ADDRESS", _slow_refill(burst))
    sent = 0
    for tab in range(burst // 20):
        await _enqueue(20, labsocket.Caller(f"tab-{tab}", "10.0.0.2"))
        sent += 20
    with pytest.raises(ControlRefused, match="from your address"):
        await _enqueue(20, labsocket.Caller("one-more-tab", "10.0.0.2"))
    await _enqueue(20, labsocket.Caller("elsewhere", "10.0.0.3"))  # another address is not
    assert _stats(redis_client)["enqueued"] == sent + 20


async def test_everyone_together_is_capped(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
):
    """Many addresses cannot add up to more than the queue's total allowance."""
    total_burst = socket.JOBS_IN_ALL[1]
    monkeypatch.setattr(socket, "JOBS_IN_ALL", _slow_refill(total_burst))
    for n in range(total_burst // 20):
        await _enqueue(20, labsocket.Caller(f"tab-{n}", f"10.1.0.{n}"))
    with pytest.raises(ControlRefused, match="from everyone together"):
        await _enqueue(20, labsocket.Caller("late", "10.2.0.1"))
    assert _stats(redis_client)["enqueued"] == total_burst


def test_logged_in_users_are_limited_by_name_across_their_sockets():
    """A user's tabs share one bucket; anonymous tabs each have theirs plus the address's."""

    class Named:
        is_authenticated = True

        def get_username(self) -> str:
            return "ada"

    one = socket.job_limits(Named(), labsocket.Caller("tab-1", "10.0.0.1"))
    two = socket.job_limits(Named(), labsocket.Caller("tab-2", "10.0.0.9"))
    assert one == two and [limit.key for limit in one] == [
        queue_keys.enqueue_limit("user:ada"),
        queue_keys.enqueue_limit("all"),
    ]
    anonymous = socket.job_limits(AnonymousUser(), labsocket.Caller("tab-1", "10.0.0.1"))
    assert [limit.key for limit in anonymous] == [
        queue_keys.enqueue_limit("socket:tab-1"),
        queue_keys.enqueue_limit("address:10.0.0.1"),
        queue_keys.enqueue_limit("all"),
    ]


def test_a_backlog_past_its_bound_loses_its_oldest_undelivered_jobs_never_pending_ones(
    redis_client: redis.Redis,
):
    """Pending jobs stay; the oldest undelivered ones go, counted and out of the backlog."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 5, by="test")
    pending = streams.read_new(redis_client, "c1", 5, 100)  # delivered, not acknowledged
    jobs = streams.enqueue(redis_client, 20, by="test")
    assert streams.trim_backlog(redis_client, max_jobs=10) == 15
    left = redis_client.xrange(queue_keys.STREAM)
    assert [sid.decode() for sid, _ in left[:5]] == [d.stream_id for d in pending]
    assert [f[b"id"].decode() for _, f in left[5:]] == [j.id for j in jobs[15:]]
    summary = redis_client.xpending(queue_keys.STREAM, queue_keys.GROUP)
    assert summary["pending"] == 5
    view = read_queue(redis_client, {}, [], {})
    assert view["trimmed_total"] == 15 and view["backlog"] == 10 == view["stream_length"]
    assert [d.fields[b"id"] for d in streams.read_new(redis_client, "c2", 50, 100)] == [
        j.id.encode() for j in jobs[15:]
    ]


def test_a_backlog_that_only_pending_jobs_fill_is_not_trimmed(redis_client: redis.Redis):
    """With every entry delivered and unacknowledged, nothing may go."""
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 8)
    streams.read_new(redis_client, "c1", 8, 100)
    assert streams.trim_backlog(redis_client, max_jobs=3) == 0
    assert redis_client.xlen(queue_keys.STREAM) == 8


def test_enqueue_trims_when_the_stream_passes_the_bound(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
):
    """No consumer ever ran (no group): the enqueue itself keeps the stream bounded."""
    monkeypatch.setattr(streams, "MAX_STREAM_JOBS", 30)
    for _ in range(5):
        streams.enqueue(redis_client, 20, by="test")
    assert redis_client.xlen(queue_keys.STREAM) == 30
    assert _stats(redis_client)["trimmed"] == 70
    streams.ensure_group(redis_client)
    assert len(streams.read_new(redis_client, "c1", 100, 100)) == 30


def test_acknowledged_jobs_go_before_any_undelivered_one(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
):
    """Past the bound, jobs done but not yet trimmed by a consumer make room first."""
    monkeypatch.setattr(streams, "MAX_STREAM_JOBS", 30)
    streams.ensure_group(redis_client)
    streams.enqueue(redis_client, 20)
    done = streams.read_new(redis_client, "c1", 20, 100)
    streams.acknowledge(redis_client, "c1", [(d.stream_id, parse_job(d.fields)) for d in done])
    streams.enqueue(redis_client, 20)  # 40 entries: 20 acknowledged, 20 undelivered
    assert _stats(redis_client).get("trimmed", 0) == 0
    assert redis_client.xlen(queue_keys.STREAM) <= 21  # the trim keeps the last delivered
