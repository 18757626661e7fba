"""What a running node knows about itself: its identity, live parameters and counters."""

import os
import time
from collections import deque
from dataclasses import dataclass, field

from archviz.lab.registry import Metrics, now_ms
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


@dataclass
class NodeCounters:
    """Counters updated on the event loop and read by the heartbeat thread."""

    connections: int = 0  # open HTTP requests and WebSockets
    websockets: int = 0
    requests_total: int = 0
    _samples: deque = field(default_factory=lambda: deque(maxlen=8))

    def requests_per_second(self) -> float:
        """Requests completed over roughly the last second."""
        now = time.monotonic()
        self._samples.append((now, self.requests_total))
        while len(self._samples) > 2 and now - self._samples[1][0] >= 1.0:
            self._samples.popleft()
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return round((n1 - n0) / (t1 - t0), 2) if t1 > t0 else 0.0


def rss_bytes() -> int:
    """This process's resident memory, from /proc (Linux)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class NodeRuntime:
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.config = NodeConfig()
        self.counters = NodeCounters()
        self.gate = WorkGate(self.config.capacity)

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
