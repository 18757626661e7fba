"""What a process measures of itself: its connections and its memory."""

from archviz.core.metrics import ConnectionCounters, rss_bytes


def test_requests_per_second_is_zero_without_requests(clock):
    """No requests: the rate is 0, on the first and later readings."""
    counters = ConnectionCounters()
    assert counters.requests_per_second() == 0.0
    clock.now += 0.5
    assert counters.requests_per_second() == 0.0


def test_requests_per_second_counts_requests_between_readings(clock):
    """Ten requests over half a second read as 20 per second."""
    counters = ConnectionCounters()
    counters.requests_per_second()
    counters.requests_total += 10
    clock.now += 0.5
    assert counters.requests_per_second() == 20.0


def test_requests_per_second_forgets_samples_older_than_a_second(clock):
    """Only about the last second counts: an old burst fades out of the rate."""
    counters = ConnectionCounters()
    counters.requests_per_second()
    counters.requests_total += 100
    clock.now += 0.5
    counters.requests_per_second()
    for _ in range(4):
        clock.now += 0.5
        rate = counters.requests_per_second()
    assert rate == 0.0


def test_rss_bytes_is_positive():
    """This process's resident memory is read (psutil)."""
    assert rss_bytes() > 0
