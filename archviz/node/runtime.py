"""What a running node knows about itself: its identity, live parameters and counters."""

from dataclasses import dataclass

from archviz.core.metrics import ConnectionCounters, rss_bytes
from archviz.core.ratelimit import KeyedBuckets
from archviz.core.registry import Metrics, now_ms
from archviz.node.work import WorkGate


@dataclass
class NodeConfig:
    """Runtime parameters set in the admin; the node re-reads them on every heartbeat."""

    weight: int = 1
    capacity: int = 10
    latency_ms: int = 0
    jitter_ms: int = 0

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> "NodeConfig":
        data = {k.decode(): v for k, v in raw.items()}
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})


# POST /ping, per node and per caller: the dashboards' own calls (proven by the lab-client
# header) are one caller, every other address its own, so a flood from one address (or
# through the balancer) does not spend the tokens of the learners' pings via the dashboard.
PINGS_PER_S = 20
PINGS_BURST = 40


class NodeRuntime:
    def __init__(self, node_id: str, counters: ConnectionCounters | None = None) -> None:
        self.node_id = node_id
        self.config = NodeConfig()
        self.counters = counters or ConnectionCounters()
        self.gate = WorkGate(self.config.capacity)
        self.ping_buckets = KeyedBuckets(rate=PINGS_PER_S, burst=PINGS_BURST)
        self.pings_refused_total = 0  # over the rate, or from a page that is not a dashboard's
        # the dashboards' origins, the only pages that may post to the node (read every beat)
        self.dashboard_origins: frozenset[str] = frozenset()

    def metrics(self) -> Metrics:
        return Metrics(
            id=self.node_id,
            ts=now_ms(),
            connections=self.counters.connections,
            rps=self.counters.requests_per_second(),
            rss_bytes=rss_bytes(),
            extra={
                "requests_total": self.counters.requests_total,
                "websockets": self.counters.websockets,
                "in_flight": self.gate.in_flight,
                "queued": self.gate.queued,
                "served_total": self.gate.served_total,
                "rejected_total": self.gate.rejected_total,
                "pings_refused_total": self.pings_refused_total,
                "weight": self.config.weight,
                "capacity": self.config.capacity,
                "latency_ms": self.config.latency_ms,
                "jitter_ms": self.config.jitter_ms,
            },
        )


_runtime: NodeRuntime | None = None


def set_runtime(runtime: NodeRuntime) -> None:
    global _runtime
    _runtime = runtime


def get_runtime() -> NodeRuntime:
    if _runtime is None:
        raise RuntimeError("this process is not a node (start it with `manage.py node`)")
    return _runtime
