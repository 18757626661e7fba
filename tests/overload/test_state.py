"""The overload demo's part of the lab state (overload/state.py): a node's reports parsed
without inventing a figure (pure), the doubled load's measurement (pure), and everything read
back from a real Redis."""

import json

import redis

from archviz.core import keys
from archviz.core.reconnect import POLICY_KEY
from archviz.core.registry import Metrics
from archviz.overload import keys as overload_keys
from archviz.overload.state import SETTLE_MS, measure, node_overload, parse_report, read_overload

NOW = 1_700_000_000_000
REPORT = {"value": 0.93, "dominant": "cpu_percent", "ts": NOW, "reject_above": 0.8,
          "shed_above": 0.95, "websockets": 412, "ws_limit": 500, "handshakes_total": 7,
          "rejected_ws_total": 2, "rejected_http_total": 1, "shed_total": 3}  # fmt: skip
DOUBLE = {"limiter": "off", "base_rate": 20.0, "base_goodput": 19.5, "rate": 40.0,
          "started_ms": NOW - 10_000}  # fmt: skip
TRAFFIC = {"up": True, "rate": 40.0, "window_s": 5, "sent": 200, "ok": 60,
           "latency_ms": {"p99": 900.0}}  # fmt: skip


def test_a_report_keeps_its_numbers_and_drops_what_is_not_one() -> None:
    raw = json.dumps(REPORT | {"shed_total": "lots", "evil": "<b>", "dominant": "x" * 99})
    report = parse_report(raw)
    assert report["value"] == 0.93 and report["websockets"] == 412
    assert "shed_total" not in report and "evil" not in report
    assert report["dominant"] == "x" * 40


def test_no_report_or_an_unreadable_one_is_none() -> None:
    bad = [json.dumps(REPORT | {"value": "high"}), json.dumps(REPORT | {"value": 1.5}), "{}"]
    for raw in (None, b"not json", b"[1]", *bad):
        assert parse_report(raw) is None, raw


def test_a_node_that_never_reported_has_nothing_invented() -> None:
    view = node_overload("node-1", None, None)
    assert view == {"id": "node-1", "report": None, "pressure": None, "overload": None,
                    "admission": {}, "websockets": None}  # fmt: skip


def test_a_nodes_heartbeat_gives_its_signals_and_admission_figures() -> None:
    extra = {"pressure": {"value": 0.4, "normalised": {"cpu_percent": 0.4}}, "websockets": 3,
             "overload": {"reject_above": 80, "shed_total": 0}, "limit": 12, "in_flight": 4,
             "queued": 2, "timed_out_total": 1, "admission": "codel", "weight": 1,
             "queue_ms": 5.2, "rtt_ms": 41.0, "long_rtt_ms": None}  # fmt: skip
    view = node_overload("node-2", json.dumps(REPORT).encode(), Metrics("node-2", 1, extra=extra))
    assert view["report"]["shed_total"] == 3
    assert view["pressure"]["normalised"] == {"cpu_percent": 0.4}
    assert view["admission"] == {"limit": 12, "in_flight": 4, "queued": 2, "timed_out_total": 1,
                                 "queue_ms": 5.2, "rtt_ms": 41.0, "policy": "codel"}  # fmt: skip


def test_the_doubled_load_is_measured_only_after_a_whole_window_at_its_rate() -> None:
    settled = DOUBLE["started_ms"] + 5_000 + SETTLE_MS
    assert measure(DOUBLE, TRAFFIC, settled - 1) is None
    assert measure(DOUBLE, TRAFFIC | {"rate": 80.0}, NOW) is None  # someone changed it since
    assert measure(None, TRAFFIC, NOW) is None and measure(DOUBLE, None, NOW) is None
    measured = measure(DOUBLE, TRAFFIC, settled)
    assert measured is not None
    assert (measured["offered"], measured["goodput"], measured["p99_ms"]) == (40.0, 12.0, 900.0)
    assert (measured["limiter"], measured["base_goodput"]) == ("off", 19.5)


def test_read_overload_from_redis(redis_client: redis.Redis) -> None:
    """Reports, the reconnect policy (defaults for what is bad), the limiter switch, and the
    measurement kept for every dashboard and tab."""
    redis_client.set(keys.node_pressure("node-2"), json.dumps(REPORT))
    redis_client.hset(POLICY_KEY, mapping={"policy": "immediate", "cap_ms": "x"})
    redis_client.hset(overload_keys.LIMITER_SAVED, "node-1", json.dumps({"admission": "fixed"}))
    redis_client.set(overload_keys.DOUBLE, json.dumps(DOUBLE))
    view = read_overload(redis_client, ["node-1", "node-2"], {}, TRAFFIC, NOW)
    assert [n["report"] is None for n in view["nodes"]] == [True, False]
    assert view["reconnect"] | {"problem": ""} == {
        "policy": "immediate", "base_ms": 250.0, "cap_ms": 8000.0, "problem": "",
    }  # fmt: skip
    assert "cap_ms 'x'" in view["reconnect"]["problem"]
    assert view["limiter"] == "off"
    assert view["measured"]["off"]["goodput"] == 12.0
    kept = json.loads(redis_client.hget(overload_keys.MEASURED, "off"))
    assert kept["goodput"] == 12.0
    assert read_overload(redis_client, [], {}, None, NOW)["measured"]["off"] == kept


def test_nothing_set_reads_as_the_defaults(redis_client: redis.Redis) -> None:
    view = read_overload(redis_client, ["node-1"], {}, None, NOW)
    assert view["reconnect"]["policy"] == "full_jitter"
    assert (view["limiter"], view["double"], view["measured"]) == ("on", None, {})
