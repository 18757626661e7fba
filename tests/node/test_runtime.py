"""What a node knows about itself: its live config and its metrics."""

import pytest

from archviz.node.runtime import NodeConfig, NodeRuntime


def test_config_from_hash_reads_known_fields_and_ignores_unknown():
    """Known fields are parsed as ints; unknown ones are left out."""
    raw = {b"weight": b"3", b"capacity": b"25", b"latency_ms": b"40", b"future_knob": b"1"}
    assert NodeConfig.from_hash(raw) == NodeConfig(weight=3, capacity=25, latency_ms=40)


def test_config_from_partial_hash_keeps_defaults():
    """Missing fields keep their defaults."""
    assert NodeConfig.from_hash({b"weight": b"2"}) == NodeConfig(weight=2, capacity=10)


def test_runtime_metrics_report_config_and_counters(clock):
    """A node's metrics carry its id, counters and live parameters."""
    node = NodeRuntime("node-3")
    node.apply_config(NodeConfig(weight=2, capacity=5, latency_ms=7, ws_limit=50, shed_above=90))
    node.counters.connections = 4
    node.counters.requests_total = 12
    metrics = node.metrics()
    assert metrics.id == "node-3"
    assert metrics.connections == 4
    assert metrics.rss_bytes > 0
    # the process's silent drops (core/drops.py): other tests in this process may count some
    assert set(metrics.extra.pop("drops")) == {"group_full_total", "expired_total",
                                               "pubsub_lost_total"}  # fmt: skip
    # what the demos add (core/hooks.py register_heartbeat_extra): the sessions' cart reads
    assert set(metrics.extra.pop("cart_reads")) == {"found", "missing"}
    pressure = metrics.extra.pop("pressure")
    assert pressure["signals"]["websockets"] == 0 and pressure["signals"]["rss_bytes"] > 0
    assert pressure["dominant"] in pressure["normalised"]
    assert 0 <= pressure["value"] <= 1
    assert metrics.extra | {"in_flight": 0} == {
        "requests_total": 12,
        "websockets": 0,
        "in_flight": 0,
        "queued": 0,
        "backend_waiting": 0,
        "queue_ms": 0.0,  # the longest wait in the last second: none yet
        "rtt_ms": 0.0,
        "served_total": 0,
        "rejected_total": 0,
        "timed_out_total": 0,
        "admission": "fixed",
        "limit": 10,  # the gate takes the new capacity with its next request
        "pings_refused_total": 0,
        "weight": 2,
        "capacity": 5,
        "latency_ms": 7,
        "jitter_ms": 0,
        "overload": {
            "ws_limit": 50,
            "reject_above": 80,
            "shed_above": 90,
            "admission": "fixed",
            "shed_policy": "priority",
            "fault": None,
            "handshakes_total": 0,
            "rejected_ws_total": 0,
            "rejected_http_total": 0,
            "shed_total": 0,
            "shedding": False,
        },
    }
    assert node.limits.websockets == 50  # pressure's websockets signal is read against it


def test_config_from_hash_ignores_unknown_non_integer_fields():
    """An unknown field is ignored whatever its value."""
    raw = {b"weight": b"3", b"label": b"blue"}
    assert NodeConfig.from_hash(raw) == NodeConfig(weight=3)


def test_config_from_hash_reads_the_overload_fields():
    """The thresholds as whole percentages, the policies by name."""
    raw = {
        b"ws_limit": b"300",
        b"reject_above": b"70",
        b"shed_above": b"90",
        b"admission": b"codel",
        b"shed_policy": b"newest",
    }
    assert NodeConfig.from_hash(raw) == NodeConfig(
        ws_limit=300, reject_above=70, shed_above=90, admission="codel", shed_policy="newest"
    )


def test_config_from_hash_refuses_nonsense_naming_the_field():
    """A bad value raises (the node keeps its last good config) with the field's name."""
    for raw, field in [
        ({b"capacity": b"lots"}, "capacity"),
        ({b"admission": b"lifo"}, "admission"),
        ({b"shed_policy": b"loudest"}, "shed_policy"),
        ({b"reject_above": b"150"}, "reject_above"),
        ({b"ws_limit": b"0"}, "ws_limit"),
    ]:
        with pytest.raises(ValueError, match=field):
            NodeConfig.from_hash(raw)


def test_the_latest_measure_is_what_the_heartbeat_and_admission_read(clock):
    """One reader measures (the reporter): pressure() and latest_pressure show its reading."""
    node = NodeRuntime("node-3")
    measured = node.measure()
    assert node.latest_pressure == measured["value"]
    assert node.pressure() is measured  # the heartbeat does not read CPU a second time
