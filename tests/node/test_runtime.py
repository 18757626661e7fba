"""What a node knows about itself: live config, counters and memory."""

from types import SimpleNamespace

import pytest

from archviz.node import runtime
from archviz.node.runtime import NodeConfig, NodeCounters, NodeRuntime, rss_bytes


class _Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(runtime, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


def test_config_from_hash_reads_known_fields_and_ignores_unknown():
    """Known fields are parsed as ints; unknown ones are left out."""
    raw = {b"weight": b"3", b"capacity": b"25", b"latency_ms": b"40", b"future_knob": b"1"}
    assert NodeConfig.from_hash(raw) == NodeConfig(weight=3, capacity=25, latency_ms=40)


def test_config_from_partial_hash_keeps_defaults():
    """Missing fields keep their defaults."""
    assert NodeConfig.from_hash({b"weight": b"2"}) == NodeConfig(weight=2, capacity=10)


def test_requests_per_second_is_zero_without_requests(clock: _Clock):
    """No requests: the rate is 0, on the first and later readings."""
    counters = NodeCounters()
    assert counters.requests_per_second() == 0.0
    clock.now += 0.5
    assert counters.requests_per_second() == 0.0


def test_requests_per_second_counts_requests_between_readings(clock: _Clock):
    """Ten requests over half a second read as 20 per second."""
    counters = NodeCounters()
    counters.requests_per_second()
    counters.requests_total += 10
    clock.now += 0.5
    assert counters.requests_per_second() == 20.0


def test_requests_per_second_forgets_samples_older_than_a_second(clock: _Clock):
    """Only about the last second counts: an old burst fades out of the rate."""
    counters = NodeCounters()
    counters.requests_per_second()
    counters.requests_total += 100
    clock.now += 0.5
    counters.requests_per_second()
    for _ in range(4):
        clock.now += 0.5
        rate = counters.requests_per_second()
    assert rate == 0.0


def test_rss_bytes_is_positive():
    """This process's resident memory is read from /proc."""
    assert rss_bytes() > 0


def test_runtime_metrics_report_config_and_counters(clock: _Clock):
    """A node's metrics carry its id, counters and live parameters."""
    node = NodeRuntime("node-3")
    node.config = NodeConfig(weight=2, capacity=5, latency_ms=7)
    node.counters.connections = 4
    node.counters.requests_total = 12
    metrics = node.metrics()
    assert metrics.id == "node-3"
    assert metrics.connections == 4
    assert metrics.rss_bytes > 0
    assert metrics.extra | {"in_flight": 0} == {
        "requests_total": 12,
        "websockets": 0,
        "in_flight": 0,
        "queued": 0,
        "served_total": 0,
        "rejected_total": 0,
        "weight": 2,
        "capacity": 5,
        "latency_ms": 7,
        "jitter_ms": 0,
    }


def test_config_from_hash_ignores_unknown_non_integer_fields():
    """An unknown field is ignored whatever its value."""
    raw = {b"weight": b"3", b"label": b"blue"}
    assert NodeConfig.from_hash(raw) == NodeConfig(weight=3)
