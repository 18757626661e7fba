"""The queue's Redis commands: enqueue, read, claim, acknowledge with dedupe, dead-letter, trim."""

import itertools
import json
import os
from collections.abc import Sequence
from typing import NamedTuple

import redis
from redis.commands.core import Script

from archviz.queue import keys as queue_keys
from archviz.queue.logic import Job, safe_trim_minid
from archviz.trace.events import now_ms

DEDUPE_WINDOW_MS = 600_000  # a job's "done" mark outlives any redelivery of it: 1-2 windows
LATENCIES_KEPT = 2_000
DEAD_LETTERS_KEPT = 10_000
# The most entries the stream may hold (about 10 MB). A backlog that grows past it (the
# consumers stopped, or slower than the producers) loses its oldest undelivered jobs, counted
# as "trimmed": a job delivered and not yet acknowledged (pending) is never trimmed.
MAX_STREAM_JOBS = 100_000

# Acknowledge jobs and apply their effect once: the dedupe marks, the counters and the
# latencies are written with the XACK in one atomic step. A job whose id is marked done
# (another consumer finished it first) is acknowledged without counting it again. The
# marks are sets per time window (this one and the one before), so a batch costs two
# SMISMEMBERs and one SADD rather than a key with its own expiry per job: that was most
# of Redis's CPU per job. One argument per job, "<stream id> <job id> <enqueued ms>".
_ACK = """
local now = tonumber(ARGV[4])
local stream_ids, job_ids, enqueued = {}, {}, {}
for i = 5, #ARGV do
  local stream_id, job_id, ts = string.match(ARGV[i], '(%S+) (%S+) (%S+)')
  stream_ids[#stream_ids + 1] = stream_id
  job_ids[#job_ids + 1] = job_id
  enqueued[#enqueued + 1] = ts
end
local done_now = redis.call('SMISMEMBER', KEYS[4], unpack(job_ids))
local done_before = redis.call('SMISMEMBER', KEYS[5], unpack(job_ids))
local fresh, fresh_ids, latencies, seen = 0, {}, {}, {}
for i = 1, #job_ids do
  local job_id = job_ids[i]
  if done_now[i] == 0 and done_before[i] == 0 and not seen[job_id] then
    seen[job_id] = true
    fresh = fresh + 1
    fresh_ids[fresh] = job_id
    latencies[fresh] = string.format('%.1f:%.1f', now, now - tonumber(enqueued[i]))
  end
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(stream_ids))
if fresh > 0 then
  redis.call('SADD', KEYS[4], unpack(fresh_ids))
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
  redis.call('LPUSH', KEYS[3], unpack(latencies))
  redis.call('LTRIM', KEYS[3], 0, LATENCIES_KEPT)
end
redis.call('HINCRBY', KEYS[2], 'acked', acked)
redis.call('HINCRBY', KEYS[2], 'processed', fresh)
redis.call('HINCRBY', KEYS[2], 'duplicates', #job_ids - fresh)
redis.call('HINCRBY', KEYS[2], 'processed:' .. ARGV[2], fresh)
return {fresh, acked}
""".replace("LATENCIES_KEPT", str(LATENCIES_KEPT - 1))

# Move a job to the dead letters only if this consumer's XACK takes it off the pending
# list, so two consumers never dead-letter the same entry.
_DEAD = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'stream_id', ARGV[2],
           'payload', ARGV[3], 'reason', ARGV[4], 'consumer', ARGV[5])
redis.call('HINCRBY', KEYS[3], 'dead', 1)
return 1
"""


# Delete the oldest undelivered entries (after the group's last delivered id, or every entry
# when no consumer made the group yet) until the stream holds at most ARGV[2], and count
# them. Atomic: no consumer can be handed an entry between choosing it and deleting it.
_TRIM_BACKLOG = """
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if excess <= 0 then return 0 end
local after = '-'
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local fields = {}
  for i = 1, #group, 2 do fields[group[i]] = group[i + 1] end
  if fields['name'] == ARGV[1] then after = '(' .. fields['last-delivered-id'] end
end
local trimmed = 0
while excess > 0 do
  local entries = redis.call('XRANGE', KEYS[1], after, '+', 'COUNT', math.min(excess, 1000))
  if #entries == 0 then break end
  local ids = {}
  for i, entry in ipairs(entries) do ids[i] = entry[1] end
  local deleted = redis.call('XDEL', KEYS[1], unpack(ids))
  trimmed = trimmed + deleted
  excess = excess - #entries
  after = '(' .. ids[#ids]
end
if trimmed > 0 then redis.call('HINCRBY', KEYS[2], 'trimmed', trimmed) end
return trimmed
"""

_ID_PREFIX = os.urandom(6).hex()  # this process's; a counter makes each job id unique
_job_numbers = itertools.count(1)
_scripts: dict[str, Script] = {}


def new_job_id() -> str:
    """A unique job id, cheap enough to make thousands a second (it is the dedupe key)."""
    return f"{_ID_PREFIX}-{next(_job_numbers):x}"


def _script(client: redis.Redis, text: str) -> Script:
    """The script, loaded once and then run by its SHA (EVALSHA), not re-sent every call."""
    if text not in _scripts:
        _scripts[text] = client.register_script(text)
    return _scripts[text]


class Delivery(NamedTuple):
    """One entry handed to a consumer (a named tuple: one is made per job)."""

    stream_id: str
    fields: dict | None  # None: the entry was deleted while pending
    deliveries: int = 1


def ensure_group(client: redis.Redis) -> None:
    """Create the stream and the consumer group if missing (Redis may have restarted empty)."""
    try:
        client.xgroup_create(queue_keys.STREAM, queue_keys.GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def enqueue(
    client: redis.Redis, count: int = 1, *, work_ms: float = 0.0, by: str = "", fail: bool = False
) -> list[Job]:
    """XADD `count` jobs and count them, in one round trip (and trim the backlog when it is
    past its bound); returns the jobs."""
    ts = now_ms()
    jobs = [Job(job_id, ts, work_ms, by, job_id, fail) for job_id in _new_ids(count)]
    pipe = client.pipeline(transaction=True)
    for job in jobs:
        pipe.xadd(queue_keys.STREAM, job.to_fields())
    pipe.hincrby(queue_keys.STATS, "enqueued", len(jobs))
    pipe.xlen(queue_keys.STREAM)
    keep_bounded(client, pipe.execute()[-1])
    return jobs


def _new_ids(count: int) -> list[str]:
    return [new_job_id() for _ in range(count)]


def enqueue_raw(client: redis.Redis, fields: dict[str, str]) -> str:
    """XADD an entry as given (a malformed payload, for the demo and the tests)."""
    pipe = client.pipeline(transaction=True)
    pipe.xadd(queue_keys.STREAM, fields)
    pipe.hincrby(queue_keys.STATS, "enqueued", 1)
    pipe.xlen(queue_keys.STREAM)
    stream_id, _, length = pipe.execute()
    keep_bounded(client, length)
    return stream_id.decode()


def keep_bounded(client: redis.Redis, length: int) -> int:
    """After an enqueue that left the stream `length` long: if that is past the bound (a
    length check: the trims run only then), trim the acknowledged jobs first, then as many of
    the oldest undelivered as it takes; returns how many undelivered jobs were trimmed."""
    if length <= MAX_STREAM_JOBS:
        return 0
    try:
        trim(client)
    except redis.ResponseError as exc:
        if "NOGROUP" not in str(exc):  # no group yet: no consumer ever acknowledged a job
            raise
    return trim_backlog(client)


def trim_backlog(client: redis.Redis, max_jobs: int | None = None) -> int:
    """Delete the oldest undelivered jobs until the stream holds at most `max_jobs`
    (MAX_STREAM_JOBS), never a pending one; they are counted as trimmed. Returns how many."""
    bound = MAX_STREAM_JOBS if max_jobs is None else max_jobs
    keys_ = [queue_keys.STREAM, queue_keys.STATS]
    return int(_script(client, _TRIM_BACKLOG)(keys_, [queue_keys.GROUP, bound], client=client))


def read_new(client: redis.Redis, consumer: str, count: int, block_ms: int) -> list[Delivery]:
    """New jobs for this consumer (blocks up to block_ms: use a client without socket timeout)."""
    found = client.xreadgroup(
        queue_keys.GROUP, consumer, {queue_keys.STREAM: ">"}, count=count, block=block_ms
    )
    return [Delivery(_text(sid), fields) for _, entries in found for sid, fields in entries]


def read_own_pending(client: redis.Redis, consumer: str, count: int) -> list[Delivery]:
    """Jobs this consumer was given and never acknowledged (after a restart), with counts."""
    found = client.xreadgroup(queue_keys.GROUP, consumer, {queue_keys.STREAM: "0"}, count=count)
    entries = [(_text(sid), fields) for _, batch in found for sid, fields in batch]
    return _with_counts(client, consumer, entries)


def claim_idle(client: redis.Redis, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
    """XAUTOCLAIM jobs left pending by others for at least min_idle_ms, with counts."""
    _next, claimed, *_deleted = client.xautoclaim(
        queue_keys.STREAM, queue_keys.GROUP, consumer, min_idle_ms, start_id="0-0", count=count
    )
    entries = [(_text(sid), fields) for sid, fields in claimed if sid is not None]
    return _with_counts(client, consumer, entries)


def _with_counts(client: redis.Redis, consumer: str, entries: list) -> list[Delivery]:
    if not entries:
        return []
    pending = client.xpending_range(
        queue_keys.STREAM, queue_keys.GROUP, entries[0][0], entries[-1][0], len(entries) + 10,
        consumername=consumer,
    )  # fmt: skip
    counts = {_text(p["message_id"]): p["times_delivered"] for p in pending}
    return [Delivery(sid, fields or None, counts.get(sid, 1)) for sid, fields in entries]


def acknowledge(
    client: redis.Redis, consumer: str, done: Sequence[tuple[str, Job]]
) -> tuple[int, int]:
    """XACK finished jobs, applying each job's effect once; returns (fresh, acked)."""
    now = now_ms()
    args: list[str | float] = [queue_keys.GROUP, consumer, 2 * DEDUPE_WINDOW_MS, now]
    args += [f"{stream_id} {job.id} {job.ts!r}" for stream_id, job in done]
    keys_ = [queue_keys.STREAM, queue_keys.STATS, queue_keys.LATENCIES, *_done_sets(now)]
    fresh, acked = _script(client, _ACK)(keys_, args, client=client)
    return int(fresh), int(acked)


def _done_sets(now: float) -> tuple[str, str]:
    """The dedupe sets of this time window and of the one before."""
    window = int(now // DEDUPE_WINDOW_MS)
    return queue_keys.done(window), queue_keys.done(window - 1)


def done_marks(client: redis.Redis, job_ids: Sequence[str]) -> list[bool]:
    """Whether each job's effect was applied (within the dedupe windows)."""
    current, before = _done_sets(now_ms())
    pipe = client.pipeline(transaction=False)
    pipe.smismember(current, job_ids)
    pipe.smismember(before, job_ids)
    in_current, in_before = pipe.execute()
    return [bool(a or b) for a, b in zip(in_current, in_before, strict=True)]


def dead_letter(client: redis.Redis, consumer: str, delivery: Delivery, reason: str) -> bool:
    """Move a job to the dead-letter stream with its reason; False if someone else did."""
    fields = {_text(k): _text(v) for k, v in (delivery.fields or {}).items()}
    payload = json.dumps(fields)
    keys_ = [queue_keys.STREAM, queue_keys.DEAD, queue_keys.STATS]
    args = [queue_keys.GROUP, delivery.stream_id, payload[:4096], reason, consumer,
            DEAD_LETTERS_KEPT]  # fmt: skip
    return bool(_script(client, _DEAD)(keys_, args, client=client))


def trim(client: redis.Redis) -> int:
    """Trim acknowledged jobs off the stream, never one still pending or undelivered."""
    pipe = client.pipeline(transaction=True)
    pipe.xpending(queue_keys.STREAM, queue_keys.GROUP)
    pipe.xinfo_groups(queue_keys.STREAM)
    summary, groups = pipe.execute()
    group = next((g for g in groups if _text(g["name"]) == queue_keys.GROUP), None)
    if group is None:
        return 0
    lowest = _text(summary["min"]) if summary.get("pending") else None
    minid = safe_trim_minid(lowest, _text(group["last-delivered-id"]))
    if minid is None:
        return 0
    return client.xtrim(queue_keys.STREAM, minid=minid, approximate=False)


def count_failure(client: redis.Redis) -> None:
    client.hincrby(queue_keys.STATS, "failed", 1)


def count_redelivered(client: redis.Redis, n: int) -> None:
    if n:
        client.hincrby(queue_keys.STATS, "redelivered", n)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
