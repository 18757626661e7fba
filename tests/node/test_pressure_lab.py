"""A real node's heartbeat carries its pressure, measured on the loop that serves it."""

from archviz.lab.embedded_redis import EmbeddedRedis
from tests.balancer.conftest import BalancerLab
from tests.harness.wait_for import wait_for

SIGNALS = {"loop_lag_ms", "cpu_percent", "rss_bytes", "websockets", "outgoing_bytes"}


def test_a_nodes_heartbeat_reports_its_signals_and_pressure(redis_server: EmbeddedRedis):
    """The loop-lag probe runs on daphne's loop (it wakes up), and every signal is there."""
    lab = BalancerLab(redis_server.url)
    try:
        lab.start_node("node-p1")
        pressure = wait_for(
            lambda: lab.node_metrics("node-p1").get("extra", {}).get("pressure"),
            "node-p1's pressure after its probe woke a few times",
            30,
            until=lambda p: p and p["lag_wakeups"] >= 5,
        )
    finally:
        lab.stop_all()
    assert set(pressure["signals"]) == SIGNALS
    assert pressure["signals"]["rss_bytes"] > 10_000_000  # a real Django process
    assert pressure["dominant"] in pressure["normalised"]
    assert pressure["value"] == pressure["normalised"][pressure["dominant"]] < 1.0
