"""The lab's live state as the dashboard shows it, read from Redis only."""

import json
import re
from typing import Any

import redis

from archviz.core import keys, registry, set_by
from archviz.core.registry import Metrics, Registration, now_ms
from archviz.dashboard.messages import (
    BalancerView,
    LabState,
    NodeView,
    ProcessView,
    RedisView,
    TrafficView,
)
from archviz.gateway.state import read_gateway
from archviz.overload.state import read_overload
from archviz.queue.state import read_queue

OVERLOAD_SPEC = ("ws_limit", "reject_above", "shed_above", "admission", "shed_policy")


def _natural(component_id: str) -> list:
    """Sort node-2 before node-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", component_id)]


def node_view(
    node_id: str, record: dict | None, registration: Registration | None, metrics: Metrics | None
) -> NodeView:
    """One node: the supervisor's record for its life cycle, heartbeats for its numbers.

    Runtime parameters are the ones the node reports applying, else the desired ones.
    """
    record = record or {}
    spec = record.get("spec") or {}
    extra = metrics.extra if metrics else {}
    status = record.get("status") or ("up" if registration else "down")
    if status == "starting" and registration and registration.pid == record.get("pid"):
        status = "up"  # it registered; the supervisor will agree on its next tick
    return NodeView(
        id=node_id,
        name=node_id,
        pid=record.get("pid") or (registration.pid if registration else None),
        port=record.get("port") or (registration.port if registration else None),
        status=status,
        detail=record.get("detail", ""),
        connections=metrics.connections if metrics else 0,
        rps=metrics.rps if metrics else 0.0,
        rss_bytes=metrics.rss_bytes if metrics else 0,
        started_at=record.get("started_at") or (registration.started_at if registration else None),
        restarts=record.get("restarts", 0),
        heartbeat_ts=metrics.ts if metrics else None,
        weight=extra.get("weight", spec.get("weight", 1)),
        capacity=extra.get("capacity", spec.get("capacity", 10)),
        latency_ms=extra.get("latency_ms", spec.get("latency_ms", 0)),
        jitter_ms=extra.get("jitter_ms", spec.get("jitter_ms", 0)),
        in_flight=extra.get("in_flight", 0),
        queued=extra.get("queued", 0),
        websockets=extra.get("websockets", 0),
        rejected_total=extra.get("rejected_total", 0),
        pressure=extra.get("pressure"),
        overload=extra.get("overload") or {k: spec[k] for k in OVERLOAD_SPEC if k in spec},
        drops=extra.get("drops", {}),
        cart_reads=extra.get("cart_reads", {}),
    )


def process_views(records: dict[str, dict]) -> list[ProcessView]:
    """Every process of the supervisor's records, nodes first, then by kind and name (pure)."""
    views = [
        ProcessView(
            id=child_id,
            kind=record.get("kind", "?"),
            status=record.get("status", "starting"),
            pid=record.get("pid"),
            port=record.get("port"),
            restarts=record.get("restarts", 0),
            detail=record.get("detail", ""),
        )
        for child_id, record in records.items()
    ]
    return sorted(views, key=lambda p: (p["kind"] != "node", p["kind"], _natural(p["id"])))


def dashboard_view(registration: Registration, metrics: Metrics | None) -> dict[str, Any]:
    """One dashboard process: where it runs, its lab sockets, and how many it closed as too
    slow (tabs that stopped taking their frames)."""
    return {
        "id": registration.id,
        "pid": registration.pid,
        "port": registration.port,
        "sockets": metrics.connections if metrics else 0,
        "too_slow_closes": metrics.extra.get("too_slow_closes", 0) if metrics else 0,
    }


def build_state(
    records: dict[str, dict],
    registrations: list[Registration],
    metrics: dict[str, Metrics],
    redis_view: RedisView,
    supervisor_pid: int | None,
) -> LabState:
    """Merge the supervisor's records, the registry and the metrics (pure)."""
    node_regs = {r.id: r for r in registrations if r.kind == "node"}
    node_ids = {i for i, rec in records.items() if rec.get("kind") == "node"} | set(node_regs)
    nodes = [
        node_view(i, records.get(i), node_regs.get(i), metrics.get(i))
        for i in sorted(node_ids, key=_natural)
    ]
    dashboards = [
        dashboard_view(r, metrics.get(r.id)) for r in registrations if r.kind == "dashboard"
    ]
    by_kind = {r.kind: r for r in registrations}
    return LabState(
        processes=process_views(records),
        ts=now_ms(),
        redis=redis_view,
        supervisor_up=supervisor_pid is not None,
        supervisor_pid=supervisor_pid,
        dashboards=dashboards,
        nodes=nodes,
        lb=balancer_view(by_kind.get("balancer"), metrics),
        traffic=traffic_view(by_kind.get("traffic"), metrics),
        queue=None,
        gateway=None,
        overload=None,
        set_by={},
    )


def balancer_view(
    registration: Registration | None, metrics: dict[str, Metrics]
) -> BalancerView | None:
    """The load balancer as its heartbeat describes it; None while it is not registered."""
    if registration is None:
        return None
    extra = metrics[registration.id].extra if registration.id in metrics else {}
    return BalancerView(
        up=True,
        port=registration.port,
        algorithm=extra.get("algorithm", ""),
        requests_total=extra.get("requests_total", 0),
        no_backend_total=extra.get("no_backend_total", 0),
        refused_connections_total=extra.get("refused_connections_total", 0),
        max_connections=extra.get("max_connections", 0),
        backends=extra.get("backends", []),
    )


def traffic_view(
    registration: Registration | None, metrics: dict[str, Metrics]
) -> TrafficView | None:
    """The traffic generator's last snapshot; None while it is not registered."""
    if registration is None or registration.id not in metrics:
        return None
    fields = TrafficView.__annotations__
    return TrafficView(**{k: v for k, v in metrics[registration.id].extra.items() if k in fields})


def read_lab_state(client: redis.Redis) -> LabState:
    """The whole picture from Redis; raises redis.RedisError when Redis is unreachable."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.PROCESSES)
    pipe.hget(keys.LAB_INFO, "supervisor_pid")
    pipe.hget(keys.LAB_INFO, "redis_output_buffer_closes")
    pipe.info("memory")
    pipe.info("stats")
    raw_records, supervisor_pid, logged_closes, memory, stats = pipe.execute()
    records = {k.decode(): json.loads(v) for k, v in raw_records.items()}
    registrations = registry.registered(client)
    # Pages send requests to the load balancer's port: only the supervisor's own balancer.
    balancers = registry.vet(client, [r for r in registrations if r.kind == "balancer"])
    registrations = [*(r for r in registrations if r.kind != "balancer"), *balancers]
    metrics = registry.latest_metrics(client, [r.id for r in registrations])
    redis_view = RedisView(
        up=True,
        used_memory_bytes=memory.get("used_memory"),
        output_buffer_closes=output_buffer_closes(stats, logged_closes),
    )
    state = build_state(
        records, registrations, metrics, redis_view, int(supervisor_pid) if supervisor_pid else None
    )
    state["queue"] = read_queue(client, records, registrations, metrics)
    state["gateway"] = read_gateway(client, records, registrations, metrics, state["ts"])
    node_ids = [node["id"] for node in state["nodes"]]
    state["overload"] = read_overload(client, node_ids, metrics, state["traffic"], state["ts"])
    state["set_by"] = set_by.read(client)
    return state


def output_buffer_closes(stats: dict, logged: bytes | None) -> int | None:
    """Subscribers closed for their output buffer: Redis 7 counts them in INFO stats (every
    client class, but only pub/sub and replicas have a limit by default); for 6.2 only its
    log says it, which the supervisor reads when the Redis is its own."""
    if "client_output_buffer_limit_disconnections" in stats:
        return int(stats["client_output_buffer_limit_disconnections"])
    return int(logged) if logged is not None else None


def unreachable(last: LabState | None) -> LabState:
    """The last known picture, frozen, with Redis marked unreachable."""
    redis_view = RedisView(up=False, used_memory_bytes=None, output_buffer_closes=None)
    if last is None:
        return build_state({}, [], {}, redis_view, supervisor_pid=None)
    return LabState(**(last | {"redis": redis_view, "ts": now_ms()}))
