"""The queue as the dashboard shows it: read from Redis (the stream, its group, counters)."""

import re
from typing import TypedDict

import redis

from archviz.core.registry import Metrics, Registration
from archviz.queue import keys as queue_keys
from archviz.queue.logic import backlog, percentiles, recent_latencies
from archviz.trace.events import now_ms

LATENCY_WINDOW_MS = 10_000
LATENCY_SAMPLE = 300  # recent latencies sent to the page for its distribution
DEAD_SHOWN = 5


class ConsumerView(TypedDict):
    id: str
    status: str  # the supervisor's word: starting | up | down | stopped | failed
    detail: str
    pid: int | None
    restarts: int
    pending: int  # delivered to it and not acknowledged
    processed_total: int  # jobs whose effect it applied (each job once)
    jobs_per_s: float
    work_ms: float
    busy: bool
    redis_ok: bool


class DeadLetterView(TypedDict):
    stream_id: str
    reason: str
    consumer: str


class QueueView(TypedDict):
    stream_length: int  # entries in the stream now (acknowledged ones are trimmed)
    backlog: int  # enqueued and not yet acknowledged or dead-lettered
    pending: int  # delivered and not yet acknowledged
    enqueued_total: int
    acked_total: int
    processed_total: int
    duplicates_total: int
    redelivered_total: int
    failed_total: int
    dead_total: int
    trimmed_total: int  # undelivered jobs deleted: the stream passed streams.MAX_STREAM_JOBS
    refused_total: int  # learners' jobs refused by the rate limits
    latency_ms: dict[str, float | None]  # p50, p95, p99 over the last 10 s, enqueue -> ack
    latency_sample: list[float]  # the most recent latencies, for a distribution
    consumers: list[ConsumerView]
    dead_recent: list[DeadLetterView]


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def read_queue(
    client: redis.Redis,
    records: dict[str, dict],
    registrations: list[Registration],
    metrics: dict[str, Metrics],
) -> QueueView:
    """The queue's numbers now; raises redis.RedisError when Redis is unreachable."""
    pipe = client.pipeline(transaction=False)
    pipe.xlen(queue_keys.STREAM)
    pipe.hgetall(queue_keys.STATS)
    pipe.lrange(queue_keys.LATENCIES, 0, -1)
    pipe.xrevrange(queue_keys.DEAD, count=DEAD_SHOWN)
    pipe.exists(queue_keys.STREAM)
    length, raw_stats, latencies, dead, exists = pipe.execute()
    summary = _pending_summary(client) if exists else {}
    stats = {_text(k): int(v) for k, v in raw_stats.items()}
    recent = recent_latencies(latencies, now_ms(), LATENCY_WINDOW_MS)
    return QueueView(
        stream_length=length,
        backlog=backlog(stats),
        pending=sum(summary.values()),
        enqueued_total=stats.get("enqueued", 0),
        acked_total=stats.get("acked", 0),
        processed_total=stats.get("processed", 0),
        duplicates_total=stats.get("duplicates", 0),
        redelivered_total=stats.get("redelivered", 0),
        failed_total=stats.get("failed", 0),
        dead_total=stats.get("dead", 0),
        trimmed_total=stats.get("trimmed", 0),
        refused_total=stats.get("refused", 0),
        latency_ms=percentiles(recent),
        latency_sample=recent[:LATENCY_SAMPLE],
        consumers=consumer_views(records, registrations, metrics, summary, stats),
        dead_recent=[_dead_view(sid, fields) for sid, fields in dead],
    )


def _pending_summary(client: redis.Redis) -> dict[str, int]:
    try:
        summary = client.xpending(queue_keys.STREAM, queue_keys.GROUP)
    except redis.ResponseError:  # no group yet: no consumer has started
        return {}
    return {_text(c["name"]): int(c["pending"]) for c in summary.get("consumers") or []}


def consumer_views(
    records: dict[str, dict],
    registrations: list[Registration],
    metrics: dict[str, Metrics],
    pending: dict[str, int],
    stats: dict[str, int],
) -> list[ConsumerView]:
    """Each consumer the supervisor runs (or that is registered), in natural order (pure)."""
    regs = {r.id: r for r in registrations if r.kind == "consumer"}
    ids = {i for i, rec in records.items() if rec.get("kind") == "consumer"} | set(regs)
    views = []
    for cid in sorted(ids, key=_natural):
        record, registration = records.get(cid) or {}, regs.get(cid)
        extra = metrics[cid].extra if cid in metrics else {}
        status = record.get("status") or ("up" if registration else "down")
        if status == "starting" and registration and registration.pid == record.get("pid"):
            status = "up"
        views.append(
            ConsumerView(
                id=cid,
                status=status,
                detail=record.get("detail", ""),
                pid=record.get("pid") or (registration.pid if registration else None),
                restarts=record.get("restarts", 0),
                pending=pending.get(cid, 0),
                processed_total=stats.get(f"processed:{cid}", 0),
                jobs_per_s=extra.get("jobs_per_s", 0.0),
                work_ms=extra.get("work_ms", (record.get("spec") or {}).get("work_ms", 0)),
                busy=bool(extra.get("busy")) and status == "up",
                redis_ok=extra.get("redis_ok", True),
            )
        )
    return views


def _dead_view(stream_id: bytes, fields: dict) -> DeadLetterView:
    return DeadLetterView(
        stream_id=_text(stream_id),
        reason=_text(fields.get(b"reason", b""))[:300],
        consumer=_text(fields.get(b"consumer", b"")),
    )
