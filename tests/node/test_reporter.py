"""The node's pressure report: the contract's JSON in archviz:pressure:<id>, PX 1500, and a
Redis that goes away costs the report, never the node's own reading."""

import json
import logging
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from archviz.core import keys
from archviz.core.pressure_report import parse_report
from archviz.core.redis_conn import sync_client
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.node.reporter import REPORT_TTL_MS, PressureReporter, pressure_report
from archviz.node.runtime import NodeConfig, NodeRuntime

REPORT_FIELDS = {
    "value", "dominant", "ts", "reject_above", "shed_above", "websockets", "ws_limit",
    "handshakes_total", "rejected_ws_total", "rejected_http_total", "shed_total",
}  # fmt: skip


@pytest.fixture
def runtime() -> NodeRuntime:
    node = NodeRuntime("node-7")
    node.apply_config(NodeConfig(ws_limit=300, reject_above=70, shed_above=90))
    node.overload_counters.rejected_http_total = 4
    return node


def test_the_report_carries_the_reading_thresholds_and_counters(runtime: NodeRuntime) -> None:
    """Thresholds as fractions (like the pressure), the node's counters as they are."""
    report = pressure_report(runtime, runtime.measure())
    assert set(report) == REPORT_FIELDS
    assert report["value"] == runtime.latest_pressure
    assert (report["reject_above"], report["shed_above"], report["ws_limit"]) == (0.7, 0.9, 300)
    assert report["rejected_http_total"] == 4 and report["websockets"] == 0
    parsed = parse_report(json.dumps(report))  # what the balancer and the page read of it
    assert parsed is not None and parsed.value == report["value"] and parsed.ts == report["ts"]


def test_a_report_is_set_with_its_expiry(runtime: NodeRuntime, redis_client: redis.Redis) -> None:
    """One tick: the key holds the report and expires unless the next one comes."""
    PressureReporter(runtime).report_once()
    raw = redis_client.get(keys.node_pressure("node-7"))
    assert set(json.loads(raw)) == REPORT_FIELDS
    assert 0 < redis_client.pttl(keys.node_pressure("node-7")) <= REPORT_TTL_MS


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, which it stops and starts again on the same port."""
    server = EmbeddedRedis().start()
    previous, settings.ARCHVIZ_REDIS_URL = settings.ARCHVIZ_REDIS_URL, server.url
    yield server
    settings.ARCHVIZ_REDIS_URL = previous
    server.stop()


def test_without_redis_it_keeps_measuring_logs_once_and_resumes(
    runtime: NodeRuntime, own_redis: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Admission reads the node's own reading, which goes on; the report comes back."""
    reporter = PressureReporter(runtime)
    reporter.report_once()
    own_redis.stop()
    runtime.latest_reading = None
    with caplog.at_level(logging.INFO, logger="archviz.node.reporter"):
        reporter.report_once()
        reporter.report_once()
        assert runtime.latest_reading is not None  # measured all the same
        back = EmbeddedRedis(port=own_redis.port).start()
        try:
            reporter.report_once()
            assert sync_client(back.url).exists(keys.node_pressure("node-7"))
        finally:
            back.stop()
    failed = [r for r in caplog.records if "pressure report failed" in r.getMessage()]
    assert len(failed) == 1
    assert any("reporting its pressure again" in r.getMessage() for r in caplog.records)
    assert reporter.reports == 2
