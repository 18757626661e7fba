"""The queue's pure decisions: payloads, delivery verdicts, batching, trimming, percentiles."""

import pytest

from archviz.queue.logic import (
    BATCH,
    CLAIM_IDLE_MS,
    MAX_CONSUMER_WORK_MS,
    MAX_DELIVERIES,
    MAX_JOB_WORK_MS,
    Job,
    MalformedJob,
    backlog,
    dead_reason,
    job_cost_ms,
    parse_job,
    percentiles,
    read_count,
    recent_latencies,
    safe_trim_minid,
    should_flush,
    verdict,
)


def _fields(**fields: str) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in fields.items()}


def test_a_job_round_trips_through_its_stream_fields() -> None:
    """Job.to_fields is what parse_job reads back; defaults are left out of the entry."""
    job = Job("abc123", 1_700_000_000_000.5, 12.5, "traffic", "t1", True)
    assert parse_job(_fields(**job.to_fields())) == job
    plain = Job("abc124", 1_700_000_000_000.0)
    assert set(plain.to_fields()) == {"id", "ts"}
    assert parse_job(_fields(**plain.to_fields())).trace == "abc124"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (None, "no fields"),
        (_fields(job="{a json payload}"), "unknown field 'job'"),
        (_fields(id="a", ts="1", x="y" * 5000), "over 4096 bytes"),
        (_fields(ts="1"), "bad job id None"),
        (_fields(id="", ts="1"), "bad job id"),
        (_fields(id="a b", ts="1"), "bad job id"),
        (_fields(id="a", ts="yesterday"), "'ts'"),
        (_fields(id="a", ts="nan"), "'ts'"),
        (_fields(id="a", ts="-5"), "'ts'"),
        (_fields(id="a", ts="1", work_ms="-1"), "'work_ms'"),
        (_fields(id="a", ts="1", work_ms=str(MAX_JOB_WORK_MS + 1)), "'work_ms'"),
        (_fields(id="a", ts="1", fail="yes"), "'fail'"),
        ({b"id": b"\xff\xfe", b"ts": b"1"}, "bad job id"),
    ],
)
def test_malformed_payloads_are_refused_with_their_reason(fields, reason) -> None:
    """Every kind of bad payload raises MalformedJob whose message names the problem."""
    with pytest.raises(MalformedJob, match=reason):
        parse_job(fields)


def test_a_job_is_processed_up_to_three_deliveries_then_dead() -> None:
    """Deliveries 1..3 are processed; the 4th (3 failed before it) goes to the dead letters."""
    assert MAX_DELIVERIES == 3
    assert [verdict(n) for n in range(1, 6)] == ["process"] * 3 + ["dead"] * 2
    assert dead_reason(4) == "delivered 3 times without an acknowledgement"
    assert "last error: boom" in dead_reason(4, "boom")


def test_claim_idle_time_exceeds_the_longest_possible_job() -> None:
    """A live consumer's slowest job finishes before another may claim it."""
    longest = job_cost_ms(Job("a", 1, MAX_JOB_WORK_MS * 10), MAX_CONSUMER_WORK_MS * 10)
    assert longest == MAX_JOB_WORK_MS + MAX_CONSUMER_WORK_MS < CLAIM_IDLE_MS


def test_quick_jobs_are_read_in_batches_and_slow_ones_one_at_a_time() -> None:
    """Batching only pays for quick jobs; long ones are left for idle consumers."""
    assert read_count(None) == 1
    assert read_count(0.0) == BATCH
    assert read_count(50.0) == 1


def test_acks_are_flushed_at_batch_end_or_when_the_oldest_waited() -> None:
    """Nothing to flush is never flushed; a batch end or a 100 ms wait flushes."""
    assert not should_flush(0, 100.0, batch_done=True)
    assert not should_flush(3, 1.0, batch_done=False)
    assert should_flush(3, 1.0, batch_done=True)
    assert should_flush(1, 100.0, batch_done=False)


def test_trimming_keeps_the_oldest_pending_job() -> None:
    """MINID is the lowest pending id when one is pending below the last delivered."""
    assert safe_trim_minid("5-0", "9-3") == "5-0"
    assert safe_trim_minid("10-2", "10-11") == "10-2"  # numeric, not string, order


def test_trimming_keeps_undelivered_jobs_when_nothing_is_pending() -> None:
    """With nothing pending, everything from the last delivered entry on is kept."""
    assert safe_trim_minid(None, "9-3") == "9-3"
    assert safe_trim_minid(None, "0-0") is None


def test_percentiles_use_nearest_rank() -> None:
    """p50/p95/p99 of 1..100 are 50, 95, 99; no data gives None."""
    assert percentiles(range(1, 101)) == {"p50": 50, "p95": 95, "p99": 99}
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_recent_latencies_keep_the_window_and_skip_garbage() -> None:
    """Only entries acknowledged within the window count; unreadable ones are skipped."""
    entries = [b"1000.0:5.0", b"9000.0:7.5", b"garbage", "9500.0:2.0"]
    assert recent_latencies(entries, now_ms=10_000, window_ms=2_000) == [7.5, 2.0]


def test_backlog_is_enqueued_minus_acknowledged_and_dead() -> None:
    """What is still to do; a counter glitch never shows a negative backlog."""
    assert backlog({"enqueued": 10, "acked": 6, "dead": 1}) == 3
    assert backlog({"acked": 2}) == 0
