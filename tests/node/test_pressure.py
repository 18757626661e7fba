"""A node's pressure from its signals, and event-loop lag from a timer's wake-ups (pure)."""

import pytest

from archviz.node.pressure import MIB, LagProbe, Limits, RecentPeak, Sample, read_pressure

SIGNALS = {"loop_lag_ms", "cpu_percent", "rss_bytes", "websockets", "outgoing_bytes"}

IDLE = Sample(loop_lag_ms=1, cpu_percent=3, rss_bytes=60 * MIB, websockets=2)


def test_an_idle_node_has_low_pressure_named_after_its_highest_signal():
    """60 MiB of 512 is the highest of four small signals."""
    pressure = read_pressure(IDLE, Limits())
    assert pressure.dominant == "rss_bytes"
    assert pressure.value == pytest.approx(60 / 512, abs=0.001)
    assert set(pressure.normalised) == SIGNALS


@pytest.mark.parametrize(
    ("signal", "value", "expected"),
    [
        ("loop_lag_ms", 50, 0.5),
        ("cpu_percent", 81, 0.9),
        ("websockets", 800, 0.8),
        ("rss_bytes", 384 * MIB, 0.75),
        ("outgoing_bytes", 12 * MIB, 0.75),
    ],
)
def test_one_loaded_signal_sets_the_pressure(signal, value, expected):
    """The highest normalised signal wins, whichever it is."""
    sample = Sample(**(IDLE.__dict__ | {signal: value}))
    pressure = read_pressure(sample, Limits())
    assert (pressure.dominant, pressure.value) == (signal, expected)


def test_pressure_is_clamped_to_one_past_a_limit_and_to_zero_below():
    """Three times the lag limit is still 1.0; a negative reading is 0."""
    sample = Sample(loop_lag_ms=300, cpu_percent=-5, rss_bytes=0, websockets=0)
    pressure = read_pressure(sample, Limits())
    assert pressure.value == 1.0 and pressure.normalised["cpu_percent"] == 0.0


def test_limits_are_the_nodes_own():
    """A node limited to 10 sockets is full at 10."""
    sample = Sample(**(IDLE.__dict__ | {"websockets": 10}))
    assert read_pressure(sample, Limits(websockets=10)).value == 1.0


def test_lag_is_how_late_each_wake_up_was_and_the_worst_of_the_window_is_kept():
    """Due every 100 ms: on time, 40 ms late, on time again."""
    probe = LagProbe(interval_s=0.1, window=3)
    assert probe.woke(10.0) == 0.0  # the first sets the schedule
    assert probe.woke(10.1) == pytest.approx(0.0, abs=1e-6)
    assert probe.woke(10.24) == pytest.approx(40.0)
    assert probe.woke(10.34) == pytest.approx(0.0, abs=1e-6)
    assert probe.worst_ms == pytest.approx(40.0)
    probe.woke(10.44)
    probe.woke(10.54)
    assert probe.worst_ms == pytest.approx(0.0, abs=1e-6)  # the late one left the window


def test_an_early_wake_up_is_no_lag():
    """Timers may fire a hair early; that is not negative lag."""
    probe = LagProbe(interval_s=0.1)
    probe.woke(5.0)
    assert probe.woke(5.09) == 0.0


def test_a_loop_that_stops_waking_up_is_as_late_as_its_overdue_wake_up():
    """Blocked outright, the loop reports nothing; the reader sees the overdue timer."""
    probe = LagProbe(interval_s=0.1)
    probe.woke(5.0)
    assert probe.lag_ms(5.05) == 0.0
    assert probe.lag_ms(7.1) == pytest.approx(2000.0)


def test_recent_peak_holds_the_highest_of_its_window_then_lets_it_go():
    """A dip of one sample under a high signal is not a drop; five later readings are."""
    peak = RecentPeak(window=5)
    assert [peak.add(v) for v in (100, 70, 95, 40, 30)] == [100, 100, 100, 100, 100]
    assert [peak.add(v) for v in (20, 10, 10, 10)] == [95, 95, 40, 30]
    assert peak.add(5) == 20
