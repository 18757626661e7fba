"""Traffic arithmetic: Poisson arrivals, work sampling, backoff and the sliding window."""

import json
import random
import statistics

import pytest

from archviz.dashboard.messages import TrafficView
from archviz.traffic.arrivals import (
    WindowStats,
    next_interval_s,
    percentile,
    reconnect_delay_s,
    sample_work_ms,
)

SAMPLES = 20_000


@pytest.mark.parametrize("rate", [0.5, 1, 50, 500])
def test_mean_inter_arrival_is_one_over_the_rate(rate: float) -> None:
    """Over 20k arrivals the mean gap is 1/rate within 3%, and the gaps are exponential."""
    rng = random.Random(rate)
    gaps = [next_interval_s(rng, rate) for _ in range(SAMPLES)]
    assert statistics.fmean(gaps) == pytest.approx(1 / rate, rel=0.03)
    assert statistics.stdev(gaps) == pytest.approx(1 / rate, rel=0.03)  # exponential: sd = mean
    assert min(gaps) > 0


@pytest.mark.parametrize("rate", [0, -1])
def test_a_poisson_process_needs_a_positive_rate(rate: float) -> None:
    """Rate 0 means "send nothing", which the scheduler handles; asking for a gap is an error."""
    with pytest.raises(ValueError, match="positive rate"):
        next_interval_s(random.Random(0), rate)


def test_arrivals_are_reproducible_from_the_injected_random() -> None:
    """The same seed gives the same arrivals: tests and demos can replay a run."""
    first = [next_interval_s(random.Random(7), 10) for _ in range(5)]
    again = [next_interval_s(random.Random(7), 10) for _ in range(5)]
    assert first == again


@pytest.mark.parametrize(("mean", "sd"), [(5, 50), (0, 10), (100, 30), (1, 1_000)])
def test_work_is_never_negative(mean: float, sd: float) -> None:
    """A wide normal is clipped at 0: no sample asks for negative work."""
    rng = random.Random(mean * 1_000 + sd)
    samples = [sample_work_ms(rng, mean, sd) for _ in range(SAMPLES)]
    assert min(samples) >= 0
    if sd > mean:
        assert samples.count(0.0) > 0  # clipped, not resampled


def test_work_follows_the_normal_when_clipping_is_rare() -> None:
    """Mean 100, sd 10: the samples have that mean and spread."""
    rng = random.Random(3)
    samples = [sample_work_ms(rng, 100, 10) for _ in range(SAMPLES)]
    assert statistics.fmean(samples) == pytest.approx(100, rel=0.01)
    assert statistics.stdev(samples) == pytest.approx(10, rel=0.03)


def test_work_without_variance_is_the_mean_and_never_negative() -> None:
    """sd 0: every request asks for exactly the mean; a negative mean becomes 0."""
    rng = random.Random(0)
    assert sample_work_ms(rng, 25, 0) == 25.0
    assert sample_work_ms(rng, -5, 0) == 0.0


def test_work_is_capped() -> None:
    """The cap keeps samples within what a node accepts."""
    rng = random.Random(0)
    samples = [sample_work_ms(rng, 9_000, 5_000, cap_ms=10_000) for _ in range(1_000)]
    assert max(samples) == 10_000
    assert min(samples) >= 0


def test_percentiles_of_one_to_a_hundred() -> None:
    """Nearest rank: p50 of 1..100 is 50, p95 is 95, p99 is 99, p100 is 100."""
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1


def test_percentiles_of_small_samples() -> None:
    """With few samples the high percentiles are the largest value, never an interpolation."""
    assert percentile([7.5], 50) == 7.5
    assert percentile([7.5], 99) == 7.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([10.0, 20.0, 1000.0], 50) == 20.0


def test_percentile_of_nothing_is_zero_not_null() -> None:
    assert percentile([], 50) == 0.0


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_out_of_range_is_an_error(q: float) -> None:
    with pytest.raises(ValueError, match="0 to 100"):
        percentile([1.0], q)


def test_reconnect_delay_doubles_up_to_a_cap() -> None:
    assert [reconnect_delay_s(n) for n in range(1, 8)] == [0.25, 0.5, 1, 2, 4, 5, 5]
    assert reconnect_delay_s(0) == 0.25


def test_window_counts_every_outcome_and_the_answering_nodes() -> None:
    """ok, queued, rejected and failed are counted apart; per_node counts whoever answered."""
    stats = WindowStats(window_s=5)
    for at in (1.0, 1.1, 1.2, 1.3, 1.4):
        stats.sent(at)
    stats.completed(1.5, "ok", node="node-1", latency_ms=10)
    stats.completed(1.6, "queued", node="node-2", latency_ms=30)
    stats.completed(1.7, "rejected", node="node-2", latency_ms=2)
    stats.completed(1.8, "failed", reason="timeout")
    stats.completed(1.9, "failed", reason="timeout")
    snap = stats.snapshot(now=2.0)
    assert (snap["sent"], snap["ok"], snap["queued"], snap["rejected"], snap["failed"]) == (
        5,
        1,
        1,
        1,
        2,
    )
    assert snap["per_node"] == {"node-1": 1, "node-2": 2}
    assert snap["failures"] == {"timeout": 2}
    assert snap["window_s"] == 5


def test_window_latency_is_of_the_requests_a_node_worked_on() -> None:
    """Fast 503s and slow timeouts do not distort the latency of served requests."""
    stats = WindowStats()
    for ms in range(1, 101):
        stats.completed(1.0, "ok" if ms % 2 else "queued", node="node-1", latency_ms=ms)
    stats.completed(1.0, "rejected", node="node-1", latency_ms=0.1)
    stats.completed(1.0, "failed", latency_ms=10_000, reason="timeout")
    assert stats.snapshot(now=1.0)["latency_ms"] == {"p50": 50.0, "p95": 95.0, "p99": 99.0}


def test_window_drops_samples_older_than_the_window() -> None:
    """What left or ended more than window_s ago no longer counts, and stays dropped."""
    stats = WindowStats(window_s=5)
    stats.sent(0.0)
    stats.completed(0.5, "ok", node="node-1", latency_ms=900)
    stats.sent(3.0)
    stats.completed(3.5, "ok", node="node-2", latency_ms=10)
    assert stats.snapshot(now=4.0)["sent"] == 2
    snap = stats.snapshot(now=6.0)
    assert (snap["sent"], snap["ok"], snap["per_node"]) == (1, 1, {"node-2": 1})
    assert snap["latency_ms"]["p99"] == 10.0
    empty = stats.snapshot(now=8.5)  # exactly window_s after the last sample: out
    assert (empty["sent"], empty["ok"], empty["per_node"]) == (0, 0, {})
    assert stats.snapshot(now=4.0)["sent"] == 0  # dropped for good, even looking back


def test_an_empty_window_is_all_zeros() -> None:
    """Nothing sent yet: zeros everywhere, latency 0.0 rather than null."""
    snap = WindowStats().snapshot(now=100.0)
    assert snap["latency_ms"] == {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    assert snap["sent"] == snap["ok"] == snap["failed"] == 0
    assert snap["per_node"] == {} and snap["failures"] == {}


def test_window_snapshot_fills_the_traffic_view_and_is_json() -> None:
    """Every window field of the dashboard's TrafficView is there, with JSON-able values."""
    stats = WindowStats()
    stats.sent(1.0)
    stats.completed(1.1, "ok", node="node-1", latency_ms=3)
    snap = stats.snapshot(now=1.2)
    window_fields = set(TrafficView.__annotations__) - {
        "up",
        "rate",
        "work_ms",
        "variance_ms",
        "ws_clients",
        "ws_open",
        "target",  # the generator's, not the window's
        "ws_nodes",
        "in_flight",
        "queue",  # the queue producer's, not the window's
        "queue_enqueued",
        "queue_dropped",
        "latency_sample",
    }
    assert window_fields <= set(snap)
    assert json.loads(json.dumps(snap)) == snap


def test_unknown_outcomes_and_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="outcome"):
        WindowStats().completed(1.0, "maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        WindowStats(window_s=0)
