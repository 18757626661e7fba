"""The balancer's pool: each node's pressure, read from its report, and how the proxy's
pick uses it (the nodes' pool only)."""

import json
import os

import redis
from multidict import CIMultiDict, CIMultiDictProxy

from archviz.balancer.backends import BackendPool, read_pressures
from archviz.balancer.headroom import NOT_REPORTING, NOT_YET_REPORTED, Pressure
from archviz.balancer.proxy import Proxy
from archviz.balancer.request import Request
from archviz.core import keys
from archviz.core.redis_conn import sync_client
from archviz.core.registry import Registration
from archviz.trace.emitter import Emitter

OVER = Pressure(0.93, 0.8, reporting=True)
ROOM = Pressure(0.1, 0.8, reporting=True)


def _registration(node_id: str, port: int) -> Registration:
    return Registration(node_id, "node", os.getpid(), "127.0.0.1", port, 1)


def _pool(*ids: str, tracks_pressure: bool = True) -> BackendPool:
    pool = BackendPool(tracks_pressure=tracks_pressure)
    pool.update((_registration(i, 9000 + n), 1) for n, i in enumerate(ids))
    return pool


def _request() -> Request:
    headers = CIMultiDictProxy(CIMultiDict({"Host": "lb"}))
    return Request("GET", "/work", "1.1", headers, b"", "127.0.0.1", True)


def test_a_new_node_keeps_its_headroom_until_its_first_report_then_loses_it_if_it_stops():
    """A node the registry just showed has not reported yet: no news is not "frozen", it
    keeps its headroom; once it has reported, a missing report is pressure 1.0."""
    pool = _pool("node-1", "node-2")
    assert pool.pressures() == {"node-1": NOT_YET_REPORTED, "node-2": NOT_YET_REPORTED}
    assert NOT_YET_REPORTED.has_headroom() and not NOT_REPORTING.has_headroom()
    pool.read_pressures({"node-1": OVER, "node-2": NOT_REPORTING, "gone": ROOM})  # gone: skipped
    assert pool.pressures() == {"node-1": OVER, "node-2": NOT_YET_REPORTED}
    shown = {b["id"]: (b["pressure"], b["reject_above"], b["reporting"]) for b in pool.snapshot(0)}
    assert shown == {"node-1": (0.93, 0.8, True), "node-2": (0.0, 0.8, False)}
    pool.read_pressures({"node-1": NOT_REPORTING})
    assert pool.pressures()["node-1"] == NOT_REPORTING  # it stopped: frozen or gone


def test_a_restarted_node_loses_its_last_pressure() -> None:
    """A node that came back as a new process waits for its own first report."""
    pool = _pool("node-1")
    pool.read_pressures({"node-1": ROOM})
    pool.update([(_registration("node-1", 9100), 1)])
    assert pool.pressures() == {"node-1": NOT_YET_REPORTED}


def test_a_pool_without_reports_shows_no_pressure() -> None:
    """The gateway's and services' pools have no reports: nothing to show, not 1.0."""
    pool = _pool("gateway-1", tracks_pressure=False)
    [backend] = pool.snapshot(0)
    assert (backend["pressure"], backend["reject_above"], backend["reporting"]) == (
        None,
        None,
        False,
    )


def test_pressures_are_read_in_one_mget_from_the_real_redis(redis_client: redis.Redis) -> None:
    """A valid report, a malformed one and a missing key, each as the contract says."""
    report = {"value": 0.42, "reject_above": 0.7, "shed_above": 0.9, "ts": 1}
    redis_client.set(keys.node_pressure("node-1"), json.dumps(report), px=1500)
    redis_client.set(keys.node_pressure("node-2"), b"{not json", px=1500)
    read = read_pressures(redis_client, ["node-1", "node-2", "node-3"])
    assert read == {
        "node-1": Pressure(0.42, 0.7, reporting=True),
        "node-2": NOT_REPORTING,
        "node-3": NOT_REPORTING,
    }
    assert read_pressures(redis_client, []) == {}


def _proxy(pool: BackendPool) -> Proxy:
    emitter = Emitter("lb-test", client_factory=lambda: sync_client("redis://unused"))
    return Proxy(pool, emitter)  # never started: pick emits nothing


async def test_pick_diverts_from_a_node_over_its_threshold_and_counts_it() -> None:
    """Round robin over three, node-2 over: it is never picked, each pick says why."""
    pool = _pool("node-1", "node-2", "node-3")
    pool.read_pressures({"node-1": ROOM, "node-2": OVER, "node-3": ROOM})
    proxy = _proxy(pool)
    picks = [proxy.pick(_request()) for _ in range(4)]
    assert [p.backend_id for p in picks] == ["node-1", "node-3", "node-1", "node-3"]
    why = "node-2 over its reject threshold (0.93 > 0.80): among node-1, node-3; round robin"
    assert all(p.reason.startswith(why) for p in picks), picks
    assert proxy.diverted_total == 4


async def test_pick_among_all_when_none_has_headroom() -> None:
    """Every node over: round robin over all of them, not counted as a diversion."""
    pool = _pool("node-1", "node-2")
    pool.read_pressures({"node-1": OVER, "node-2": OVER})
    proxy = _proxy(pool)
    picks = [proxy.pick(_request()) for _ in range(2)]
    assert [p.backend_id for p in picks] == ["node-1", "node-2"]
    assert picks[0].reason.startswith("no node under its reject threshold: among all; ")
    assert proxy.diverted_total == 0


async def test_a_pool_without_reports_picks_as_before() -> None:
    """The gateway's pool: no report is not "overloaded" there; the reason is the algorithm's."""
    pool = _pool("gateway-1", "gateway-2", tracks_pressure=False)
    proxy = _proxy(pool)
    picks = [proxy.pick(_request()) for _ in range(2)]
    assert [p.backend_id for p in picks] == ["gateway-1", "gateway-2"]
    assert picks[0].reason == "round robin: starting with gateway-1"
    assert proxy.diverted_total == 0


def test_a_nodes_refusals_are_counted_apart_from_its_errors() -> None:
    """A 503 at capacity is a refusal, not an error: the node card shows the two apart."""
    pool = _pool("node-1", tracks_pressure=False)
    for _ in range(4):
        pool.started("node-1")
    pool.finished("node-1", ok=False, refused=True)
    pool.finished("node-1", ok=False, refused=True)
    pool.finished("node-1", ok=False)  # a timeout or a broken connection
    pool.finished("node-1", ok=True, latency_ms=3.0)
    [backend] = pool.snapshot(0)
    assert (backend["refused_total"], backend["errors_total"]) == (2, 1)
    assert (backend["requests_total"], backend["in_flight"]) == (4, 0)
