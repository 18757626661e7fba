"""The overload demo as the dashboard shows it, read from Redis only: each node's pressure
report (archviz:pressure:<id>) and heartbeat figures, the lab's reconnect policy, whether an
instructor switched the limiter off, and the goodput measured at a doubled load.

Nothing here invents a figure: a node that has not reported is `None` ("not reported")."""

import json
import math
from typing import Any, Literal, TypedDict

import redis

from archviz.core import keys
from archviz.core import pressure_report as reports
from archviz.core.reconnect import POLICY_KEY, parse_policy
from archviz.core.registry import Metrics
from archviz.overload import keys as overload_keys

REPORT_NUMBERS = (
    *("value", "ts", "reject_above", "shed_above", "websockets", "ws_limit"),
    *("handshakes_total", "rejected_ws_total", "rejected_http_total", "shed_total"),
)
ADMISSION_FIGURES = (
    *("limit", "in_flight", "queued", "timed_out_total", "served_total", "rejected_total"),
    *("capacity", "backend_waiting"),
    # node/work.py WorkGate.recent(): the last second's longest queue wait and mean round
    # trip, and what the adaptive policies read them against (admission.Policy.describe)
    *("queue_ms", "rtt_ms", "long_rtt_ms", "rtt_timeout_ms", "target_ms"),
)
SETTLE_MS = 1000  # after a full traffic window at the doubled rate, the window is all doubled


class ReconnectView(TypedDict):
    policy: str  # one of core/reconnect.py RECONNECT_POLICIES
    base_ms: float
    cap_ms: float
    problem: str  # what was wrong with the hash ("" when nothing): defaults were used


class NodeOverload(TypedDict):
    id: str
    report: dict[str, Any] | None  # its pressure report; None: not reporting (frozen or dead)
    pressure: dict[str, Any] | None  # its heartbeat's extra.pressure (signals, normalised)
    overload: dict[str, Any] | None  # its heartbeat's extra.overload (thresholds, counters)
    admission: dict[str, Any]  # the HTTP admission policy's figures it reported, only those
    websockets: int | None  # open WebSockets, from its heartbeat


class Measurement(TypedDict):
    limiter: Literal["on", "off"]
    base_rate: float  # requests/s offered before the load was doubled
    base_goodput: float  # answered requests/s just before
    rate: float  # requests/s offered at the doubled load
    offered: float  # sent/s over the generator's window at the doubled load
    goodput: float  # answered/s over that window
    p99_ms: float | None
    ts: float


class OverloadView(TypedDict):
    nodes: list[NodeOverload]
    reconnect: ReconnectView
    limiter: Literal["on", "off"]  # off: an instructor set every node's admission to none
    double: dict[str, Any] | None  # the doubled-load scenario under way, if one is
    measured: dict[str, Measurement]  # "on" / "off": goodput at the doubled load


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_report(raw: bytes | str | None) -> dict[str, Any] | None:
    """A pressure report's known fields, each a number (dominant: a short word); None when
    core/pressure_report.py, the one reading every reader shares, finds no valid report."""
    if reports.parse_report(raw) is None:
        return None
    obj = json.loads(raw)
    report: dict[str, Any] = {k: obj[k] for k in REPORT_NUMBERS if _number(obj.get(k))}
    dominant = obj.get("dominant")
    report["dominant"] = dominant[:40] if isinstance(dominant, str) else ""
    return report


def node_overload(node_id: str, raw_report: bytes | None, metrics: Metrics | None) -> NodeOverload:
    """One node's overload picture from its report and its last heartbeat (pure)."""
    extra = metrics.extra if metrics else {}
    pressure, overload = extra.get("pressure"), extra.get("overload")
    return NodeOverload(
        id=node_id,
        report=parse_report(raw_report),
        pressure=pressure if isinstance(pressure, dict) else None,
        overload=overload if isinstance(overload, dict) else None,
        admission={k: extra[k] for k in ADMISSION_FIGURES if _number(extra.get(k))}
        | ({"policy": extra["admission"]} if isinstance(extra.get("admission"), str) else {}),
        websockets=extra["websockets"] if _number(extra.get("websockets")) else None,
    )


def parse_reconnect(raw: dict) -> ReconnectView:
    """The lab's reconnect policy from its hash, read as the bots read it (defaults for any
    field missing or bad, and the problem in words)."""
    policy, problem = parse_policy(raw)
    return ReconnectView(
        policy=policy.policy, base_ms=policy.base_ms, cap_ms=policy.cap_ms, problem=problem
    )


def measure(double: dict | None, traffic: dict | None, now: float) -> Measurement | None:
    """Goodput at the doubled load, once the generator's whole window was at that rate (pure)."""
    if not double or not traffic or not traffic.get("up"):
        return None
    if not _number(traffic.get("rate")) or abs(traffic["rate"] - double["rate"]) > 1e-6:
        return None  # someone changed the rate since: not this scenario's figure
    window_s = traffic.get("window_s") or 0
    if window_s <= 0 or now < double["started_ms"] + window_s * 1000 + SETTLE_MS:
        return None
    p99 = (traffic.get("latency_ms") or {}).get("p99")
    return Measurement(
        limiter=double["limiter"],
        base_rate=double["base_rate"],
        base_goodput=double["base_goodput"],
        rate=double["rate"],
        offered=round(traffic.get("sent", 0) / window_s, 2),
        goodput=round(traffic.get("ok", 0) / window_s, 2),
        p99_ms=p99 if _number(p99) else None,
        ts=now,
    )


def read_overload(
    client: redis.Redis,
    node_ids: list[str],
    metrics: dict[str, Metrics],
    traffic: dict | None,
    now: float,
) -> OverloadView:
    """The overload demo's numbers now; raises redis.RedisError when Redis is unreachable.

    While a doubled-load scenario runs, its measurement is kept (in Redis, so that every
    dashboard process and every tab draws the same conclusion)."""
    pipe = client.pipeline(transaction=False)
    for node_id in node_ids:
        pipe.get(keys.node_pressure(node_id))
    pipe.hgetall(POLICY_KEY)
    pipe.exists(overload_keys.LIMITER_SAVED)
    pipe.get(overload_keys.DOUBLE)
    pipe.hgetall(overload_keys.MEASURED)
    *reports, reconnect, limiter_off, raw_double, raw_measured = pipe.execute()
    double = _json_object(raw_double)
    measured = {_text(k): m for k, v in raw_measured.items() if (m := _json_object(v))}
    fresh = measure(double, traffic, now)
    if fresh is not None:
        client.hset(overload_keys.MEASURED, fresh["limiter"], json.dumps(fresh))
        measured[fresh["limiter"]] = fresh
    return OverloadView(
        nodes=[node_overload(i, r, metrics.get(i)) for i, r in zip(node_ids, reports, strict=True)],
        reconnect=parse_reconnect(reconnect),
        limiter="off" if limiter_off else "on",
        double=double,
        measured=measured,
    )


def _json_object(raw: bytes | None) -> dict | None:
    try:
        obj = json.loads(raw) if raw else None
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
