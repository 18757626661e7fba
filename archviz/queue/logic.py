"""The queue's decisions, without I/O: job payloads, delivery verdicts, trimming, batching."""

import math
import re
from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple

MAX_DELIVERIES = 3  # a job delivered this often without an ack goes to the dead letters
MAX_JOB_WORK_MS = 2_000  # the work a job may ask for
MAX_CONSUMER_WORK_MS = 2_000  # the cost a consumer adds to every job (the admin's setting)
# A pending job is claimed by another consumer once idle this long: longer than the
# longest job (both costs at their maximum), so a slow job is never taken from a live consumer.
CLAIM_IDLE_MS = 5_000
MAX_PAYLOAD_BYTES = 4_096
FAST_JOB_MS = 5.0  # jobs quicker than this are read and acknowledged in batches
BATCH = 32
ACK_FLUSH_MS = 100.0  # a batch of quick jobs is acknowledged at least this often

_JOB_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_STREAM_ID = re.compile(r"(\d+)-(\d+)")

Verdict = Literal["process", "dead"]


class MalformedJob(ValueError):
    """A job payload that cannot be processed; the message is the dead letter's reason."""


class Job(NamedTuple):
    """One job (immutable). A named tuple, not a frozen dataclass: consumers make one per
    job, and a frozen dataclass costs four times as much to build."""

    id: str  # the producer's id: the dedupe key, the same on every delivery
    ts: float  # unix ms when it was enqueued
    work_ms: float = 0.0
    by: str = ""  # who produced it: traffic, learner, bench…
    trace: str = ""
    fail: bool = False  # a poison job: the handler raises, so it is retried, then dead

    def to_fields(self) -> dict[str, str]:
        """The stream entry's fields: the stream's own field-value pairs, no JSON to parse.

        Defaults are left out: a smaller entry, a quicker read.
        """
        fields = {"id": self.id, "ts": repr(self.ts)}
        if self.work_ms:
            fields["work_ms"] = repr(self.work_ms)
        if self.by:
            fields["by"] = self.by
        if self.trace and self.trace != self.id:
            fields["trace"] = self.trace
        if self.fail:
            fields["fail"] = "1"
        return fields


def parse_job(fields: Mapping[bytes | str, bytes | str] | None) -> Job:
    """The job in a stream entry's fields; MalformedJob says what is wrong."""
    if not fields:
        raise MalformedJob("the entry has no fields (deleted?)")
    f = {_text(k): _text(v) for k, v in fields.items()}
    if sum(map(len, f)) + sum(map(len, f.values())) > MAX_PAYLOAD_BYTES:
        raise MalformedJob(f"payload over {MAX_PAYLOAD_BYTES} bytes")
    unknown = f.keys() - _FIELDS
    if unknown:
        raise MalformedJob(f"unknown field {sorted(unknown)[0][:40]!r}")
    job_id = f.get("id")
    if job_id is None or not _JOB_ID.fullmatch(job_id):
        raise MalformedJob(f"bad job id {job_id and job_id[:70]!r}")
    ts = _number(f.get("ts"))
    if ts is None or ts <= 0:
        raise MalformedJob("'ts' must be a positive number (unix ms)")
    work_ms = _number(f.get("work_ms", "0"))
    if work_ms is None or not 0 <= work_ms <= MAX_JOB_WORK_MS:
        raise MalformedJob(f"'work_ms' must be a number from 0 to {MAX_JOB_WORK_MS}")
    fail = f.get("fail", "0")
    if fail not in ("0", "1"):
        raise MalformedJob("'fail' must be 0 or 1")
    return Job(job_id, ts, work_ms, f.get("by", "")[:40], f.get("trace", job_id)[:64], fail == "1")


_FIELDS = frozenset({"id", "ts", "work_ms", "by", "trace", "fail"})


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _number(raw: str | None) -> float | None:
    """A finite number from its text, or None."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def verdict(deliveries: int, max_deliveries: int = MAX_DELIVERIES) -> Verdict:
    """Process a job on its first max_deliveries deliveries; after that it is dead."""
    return "process" if deliveries <= max_deliveries else "dead"


def dead_reason(deliveries: int, last_error: str = "") -> str:
    """Why a job that kept coming back was given up on, in words."""
    failed = deliveries - 1
    reason = f"delivered {failed} times without an acknowledgement"
    return f"{reason} (last error: {last_error})" if last_error else reason


def job_cost_ms(job: Job, consumer_work_ms: float) -> float:
    """How long a consumer works on a job: what the job asks plus the consumer's own cost."""
    return min(job.work_ms, MAX_JOB_WORK_MS) + min(consumer_work_ms, MAX_CONSUMER_WORK_MS)


def read_count(last_cost_ms: float | None) -> int:
    """How many new jobs to read at once: a batch while jobs are quick, else one.

    Reading one long job at a time leaves the rest in the stream for idle consumers, so
    work spreads evenly; batching quick jobs saves a round trip per job.
    """
    return BATCH if last_cost_ms is not None and last_cost_ms < FAST_JOB_MS else 1


def should_flush(unacked: int, oldest_wait_ms: float, batch_done: bool) -> bool:
    """Acknowledge what is done: at the end of a batch, or when the oldest has waited long."""
    return unacked > 0 and (batch_done or oldest_wait_ms >= ACK_FLUSH_MS)


def parse_stream_id(stream_id: str) -> tuple[int, int]:
    match = _STREAM_ID.fullmatch(stream_id)
    if match is None:
        raise ValueError(f"not a stream id: {stream_id!r}")
    return int(match.group(1)), int(match.group(2))


def safe_trim_minid(lowest_pending: str | None, last_delivered: str) -> str | None:
    """The MINID to trim the stream to without losing a job still to be done.

    Entries below MINID are deleted. Everything at or after the lowest pending id may be
    pending, and everything after the last delivered id is not delivered yet, so the
    lower of the two is kept; None: nothing may be trimmed yet.
    """
    if last_delivered in ("0-0", "0"):
        return None
    keep_from = last_delivered
    if lowest_pending is not None and parse_stream_id(lowest_pending) < parse_stream_id(
        last_delivered
    ):
        keep_from = lowest_pending
    return keep_from


def percentiles(values: Iterable[float]) -> dict[str, float | None]:
    """p50, p95 and p99 by the nearest-rank method; None for each without data."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None}

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99)}


def recent_latencies(
    entries: Iterable[bytes | str], now_ms: float, window_ms: float
) -> list[float]:
    """Latencies ("<ack unix ms>:<latency ms>") acknowledged within the window; bad ones skipped."""
    found = []
    for entry in entries:
        text = entry.decode() if isinstance(entry, bytes) else entry
        acked, _, latency = text.partition(":")
        try:
            if now_ms - float(acked) <= window_ms:
                found.append(float(latency))
        except ValueError:
            continue
    return found


def backlog(stats: Mapping[str, int]) -> int:
    """Jobs enqueued and not yet acknowledged, dead-lettered or trimmed (never below zero)."""
    done = stats.get("acked", 0) + stats.get("dead", 0) + stats.get("trimmed", 0)
    return max(0, stats.get("enqueued", 0) - done)
