"""The lab's live figures a lesson may wait on: traffic, nodes, the balancer, the queue and
admission control, all read from the lab state the pages show (state.py)."""

from collections.abc import Callable

from archviz.core.hooks import LiveFigure
from archviz.dashboard.messages import LabState

Read = Callable[[LabState], float | int | str]


def _traffic(field: str, default: object = 0) -> Read:
    return lambda s: (s["traffic"] or {}).get(field, default)


def _latency(which: str) -> Read:
    return lambda s: round(((s["traffic"] or {}).get("latency_ms") or {}).get(which, 0), 1)


def _per_node(s: LabState) -> dict[str, int]:
    return (s["traffic"] or {}).get("per_node") or {}


def _busiest_share(s: LabState) -> int:
    per_node = _per_node(s)
    total = sum(per_node.values())
    return round(100 * max(per_node.values()) / total) if total else 0


def _overload(*fields: str) -> Read:
    def read(s: LabState) -> int:
        reports = [n.get("report") or {} for n in (s["overload"] or {}).get("nodes", [])]
        return sum(int(r.get(field) or 0) for r in reports for field in fields)

    return read


def _queue(field: str) -> Read:
    return lambda s: (s["queue"] or {}).get(field, 0)


def _compare(field: str) -> Read:
    return lambda s: ((s["gateway"] or {}).get("compare") or {}).get(field, 0)


def _cart_reads(field: str) -> Read:
    return lambda s: sum((n.get("cart_reads") or {}).get(field, 0) for n in s["nodes"])


def _up(s: LabState) -> list:
    return [n for n in s["nodes"] if n["status"] == "up"]


FIGURES: dict[str, LiveFigure] = {
    "traffic.rate": LiveFigure("requests/s the generator is asked for", _traffic("rate")),
    "traffic.sent": LiveFigure("requests sent in the last 5 s", _traffic("sent")),
    "traffic.ok": LiveFigure("requests answered in the last 5 s", _traffic("ok")),
    "traffic.rejected": LiveFigure("503s in the last 5 s (no room)", _traffic("rejected")),
    "traffic.failed": LiveFigure("failed requests in the last 5 s", _traffic("failed")),
    "traffic.p50_ms": LiveFigure("median latency over the last 5 s (ms)", _latency("p50")),
    "traffic.p95_ms": LiveFigure("p95 latency over the last 5 s (ms)", _latency("p95")),
    "traffic.p99_ms": LiveFigure("p99 latency over the last 5 s (ms)", _latency("p99")),
    "traffic.ws_open": LiveFigure("the generator's open WebSockets", _traffic("ws_open")),
    "traffic.nodes_used": LiveFigure(
        "nodes that answered requests in the last 5 s",
        lambda s: sum(1 for n in _per_node(s).values() if n > 0),
    ),
    "traffic.busiest_share": LiveFigure(
        "the busiest node's share of the answered requests (%)", _busiest_share
    ),
    "nodes.up": LiveFigure("nodes up", lambda s: len(_up(s))),
    "nodes.down": LiveFigure("nodes not up", lambda s: len(s["nodes"]) - len(_up(s))),
    "nodes.restarts": LiveFigure(
        "restarts of every node so far", lambda s: sum(n["restarts"] for n in s["nodes"])
    ),
    "nodes.websockets_max": LiveFigure(
        "WebSockets on the busiest node",
        lambda s: max((n["websockets"] for n in _up(s)), default=0),
    ),
    "nodes.websockets_min": LiveFigure(
        "WebSockets on the least busy node that is up",
        lambda s: min((n["websockets"] for n in _up(s)), default=0),
    ),
    "sessions.carts_found": LiveFigure(
        "cart reads that found the learner's session", _cart_reads("found")
    ),
    "sessions.carts_lost": LiveFigure(
        "cart reads that did not find the learner's session on that node", _cart_reads("missing")
    ),
    "lb.algorithm": LiveFigure(
        "the balancer's algorithm", lambda s: (s["lb"] or {}).get("algorithm", "")
    ),
    "queue.backlog": LiveFigure("jobs waiting in the queue", _queue("backlog")),
    "queue.acked": LiveFigure("jobs done and acknowledged", _queue("acked_total")),
    "queue.enqueued": LiveFigure("jobs enqueued so far", _queue("enqueued_total")),
    "overload.rejected": LiveFigure(
        "WebSockets and requests refused by admission control",
        _overload("rejected_ws_total", "rejected_http_total"),
    ),
    "overload.shed": LiveFigure("WebSockets shed so far", _overload("shed_total")),
    "queue.consumers_up": LiveFigure(
        "queue consumers up",
        lambda s: sum(1 for c in (s["queue"] or {}).get("consumers", []) if c["status"] == "up"),
    ),
    "gateway.class_runs": LiveFigure("side-by-side runs for the class so far", _compare("run")),
    "gateway.bad_sent": LiveFigure(
        "bad requests sent each way by the side by side", _compare("bad_sent")
    ),
    "gateway.bad_reached_direct": LiveFigure(
        "bad requests that reached the catalog around the gateway", _compare("bad_reached_direct")
    ),
    "gateway.bad_reached_gateway": LiveFigure(
        "bad requests that reached the catalog through the gateway", _compare("bad_reached_gateway")
    ),
}
