"""The lab state the dashboard shows: merged from records, registry and metrics."""

import json

import redis

from archviz.core import keys, registry
from archviz.core.registry import Metrics, Registration
from archviz.dashboard.messages import RedisView
from archviz.dashboard.state import (
    balancer_view,
    build_state,
    output_buffer_closes,
    read_lab_state,
    unreachable,
)
from archviz.lab.child import ProcessRecord

REDIS_UP = RedisView(up=True, used_memory_bytes=1000, output_buffer_closes=0)


def _registration(component_id: str, kind: str = "node", port: int = 9001) -> Registration:
    return Registration(component_id, kind, pid=500, host="127.0.0.1", port=port, started_at=7.0)


def _record(component_id: str, **fields) -> dict:
    return ProcessRecord(id=component_id, kind="node", **fields).to_dict()


def test_registered_node_without_record_shows_up():
    """A node known only from its heartbeat is up, with the registry's pid and port."""
    state = build_state({}, [_registration("node-1")], {}, REDIS_UP, supervisor_pid=None)
    (node,) = state["nodes"]
    assert (node["id"], node["status"], node["pid"], node["port"]) == ("node-1", "up", 500, 9001)
    assert node["started_at"] == 7.0
    assert node["heartbeat_ts"] is None


def test_record_status_wins_over_registration():
    """The supervisor's record decides the status, pid and restarts."""
    record = _record("node-1", status="down", pid=321, restarts=2, detail="restarting in 1.0 s")
    state = build_state({"node-1": record}, [_registration("node-1")], {}, REDIS_UP, 4242)
    (node,) = state["nodes"]
    assert node["status"] == "down"
    assert node["pid"] == 321
    assert node["restarts"] == 2
    assert node["detail"] == "restarting in 1.0 s"


def test_recorded_node_without_heartbeat_shows_its_record():
    """A node the supervisor knows but that never registered keeps its record status."""
    state = build_state({"node-1": _record("node-1")}, [], {}, REDIS_UP, 4242)
    assert state["nodes"][0]["status"] == "starting"


def test_metrics_and_spec_fill_the_node_view():
    """Metrics give the numbers; what the node reports applying wins over the desired spec."""
    metrics = Metrics(
        id="node-1", ts=99.0, connections=4, rps=12.5, rss_bytes=2048, extra={"weight": 9}
    )
    record = _record("node-1", status="up", spec={"weight": 3, "capacity": 20})
    state = build_state({"node-1": record}, [], {"node-1": metrics}, REDIS_UP, 4242)
    node = state["nodes"][0]
    assert (node["connections"], node["rps"], node["rss_bytes"]) == (4, 12.5, 2048)
    assert node["heartbeat_ts"] == 99.0
    assert (node["weight"], node["capacity"], node["latency_ms"]) == (9, 20, 0)


def test_the_balancer_view_carries_its_refusals():
    """The LB's counters of what it refused, a full house among them, reach the page."""
    extra = {"no_backend_total": 2, "refused_connections_total": 7, "max_connections": 1000}
    metrics = {"lb": Metrics(id="lb", ts=1.0, extra=extra)}
    view = balancer_view(_registration("lb", "balancer", 8100), metrics)
    assert (view["no_backend_total"], view["refused_connections_total"]) == (2, 7)
    assert view["max_connections"] == 1000
    assert balancer_view(None, metrics) is None


def test_nodes_are_in_natural_order():
    """node-2 sorts before node-10."""
    regs = [_registration(i) for i in ("node-10", "node-2", "node-1")]
    state = build_state({}, regs, {}, REDIS_UP, 4242)
    assert [n["id"] for n in state["nodes"]] == ["node-1", "node-2", "node-10"]


def test_dashboards_are_listed_apart_from_nodes():
    """Dashboard registrations appear under dashboards, not nodes; non-node records are skipped."""
    records = {"dash-1": ProcessRecord(id="dash-1", kind="dashboard").to_dict()}
    regs = [_registration("dash-1", kind="dashboard", port=8000), _registration("node-1")]
    state = build_state(records, regs, {}, REDIS_UP, 4242)
    assert state["dashboards"] == [
        {"id": "dash-1", "pid": 500, "port": 8000, "sockets": 0, "too_slow_closes": 0}
    ]
    assert [n["id"] for n in state["nodes"]] == ["node-1"]
    assert state["redis"] == REDIS_UP
    assert state["supervisor_up"] is True


def test_a_dashboard_shows_its_lab_sockets_and_the_ones_it_closed_as_too_slow():
    regs = [_registration("dash-1", kind="dashboard", port=8000)]
    metrics = {"dash-1": Metrics(id="dash-1", ts=1, connections=7, extra={"too_slow_closes": 2})}
    [dashboard] = build_state({}, regs, metrics, REDIS_UP, 4242)["dashboards"]
    assert dashboard["sockets"] == 7 and dashboard["too_slow_closes"] == 2


def test_unreachable_keeps_last_nodes_and_marks_redis_down():
    """When Redis is away, the last picture stays, with Redis marked down."""
    last = build_state({}, [_registration("node-1")], {}, REDIS_UP, 4242)
    frozen = unreachable(last)
    assert frozen["nodes"] == last["nodes"]
    assert frozen["supervisor_up"] is True
    assert frozen["redis"] == {"up": False, "used_memory_bytes": None, "output_buffer_closes": None}


def test_unreachable_without_a_last_state_is_empty():
    """With no earlier picture, there are no nodes and Redis is down."""
    frozen = unreachable(None)
    assert frozen["nodes"] == []
    assert frozen["supervisor_up"] is False
    assert frozen["redis"]["up"] is False


def test_read_lab_state_from_real_redis(redis_url: str, redis_client: redis.Redis):
    """A registered node plus a supervisor record in Redis come back merged."""
    registry.register(
        redis_client, _registration("node-2"), Metrics(id="node-2", ts=5.0, connections=1)
    )
    record = _record("node-1", status="failed", detail="gave up after 5 crashes")
    redis_client.hset(keys.PROCESSES, "node-1", json.dumps(record))
    redis_client.hset(keys.LAB_INFO, "supervisor_pid", "4242")
    state = read_lab_state(redis_client)
    assert [(n["id"], n["status"]) for n in state["nodes"]] == [
        ("node-1", "failed"),
        ("node-2", "up"),
    ]
    assert state["nodes"][1]["connections"] == 1
    assert state["supervisor_up"] is True
    assert state["supervisor_pid"] == 4242
    assert state["redis"]["up"] is True
    assert state["redis"]["output_buffer_closes"] is None  # no supervisor's log, Redis 6.2
    assert state["redis"]["used_memory_bytes"] > 0


def test_read_lab_state_without_lab_info_has_supervisor_down(
    redis_url: str, redis_client: redis.Redis
):
    """No lab info key: the supervisor is reported down."""
    assert read_lab_state(redis_client)["supervisor_up"] is False


def test_output_buffer_closes_come_from_info_else_from_the_log():
    """Redis 7's INFO counter wins; on 6.2 the supervisor's count from the log; else None."""
    assert output_buffer_closes({"client_output_buffer_limit_disconnections": 4}, b"1") == 4
    assert output_buffer_closes({"total_connections_received": 9}, b"3") == 3
    assert output_buffer_closes({}, None) is None


def test_the_logged_closes_reach_the_lab_state(redis_url: str, redis_client: redis.Redis):
    """What the supervisor wrote from its Redis's log is the lab state's figure."""
    redis_client.hset(keys.LAB_INFO, "redis_output_buffer_closes", "2")
    assert read_lab_state(redis_client)["redis"]["output_buffer_closes"] == 2


def test_every_process_the_supervisor_runs_is_listed_nodes_first() -> None:
    """The Lab page draws them all: the balancer, traffic, consumers and bots, not only nodes."""
    from archviz.dashboard.state import process_views

    records = {
        "traffic": {"kind": "traffic", "status": "up", "pid": 3, "restarts": 0},
        "node-10": {"kind": "node", "status": "up", "pid": 5, "port": 8110},
        "lb": {"kind": "balancer", "status": "down", "pid": None, "restarts": 2, "detail": "x"},
        "node-2": {"kind": "node", "status": "paused", "pid": 4, "port": 8102},
        "consumer-1": {"kind": "consumer", "status": "up", "pid": 6},
    }
    views = process_views(records)
    assert [v["id"] for v in views] == ["node-2", "node-10", "lb", "consumer-1", "traffic"]
    assert views[2] == {"id": "lb", "kind": "balancer", "status": "down", "pid": None,
                        "port": None, "restarts": 2, "detail": "x"}  # fmt: skip
