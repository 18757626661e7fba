"""What a running node knows about itself: its identity, live parameters and counters."""

import asyncio
import time
from dataclasses import asdict, dataclass, replace

import psutil

from archviz.core import drops, hooks
from archviz.core.metrics import ConnectionCounters, rss_bytes
from archviz.core.ratelimit import KeyedBuckets
from archviz.core.registry import Metrics, now_ms
from archviz.node.admission import POLICIES
from archviz.node.faults import Faults
from archviz.node.pressure import (
    SAMPLE_EVERY_S,
    LagProbe,
    Limits,
    RecentPeak,
    Sample,
    read_pressure,
)
from archviz.node.shedder import Shedder
from archviz.node.shedding import SHED_POLICIES
from archviz.node.sockets import SocketRegistry, pressure_now
from archviz.node.work import WorkGate

ADMISSION_POLICIES = tuple(POLICIES)


@dataclass
class NodeConfig:
    """Runtime parameters set in the admin; the node re-reads them on every heartbeat."""

    weight: int = 1
    capacity: int = 10
    latency_ms: int = 0
    jitter_ms: int = 0
    ws_limit: int = 500
    reject_above: int = 80  # % pressure; 100: never
    shed_above: int = 95  # % pressure; 100: never
    admission: str = "fixed"
    shed_policy: str = "priority"

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> "NodeConfig":
        """The supervisor's hash; raises ValueError naming a field that is nonsense."""
        values: dict[str, int | str] = {}
        for key, value in raw.items():
            name = key.decode()
            if name not in cls.__dataclass_fields__:
                continue
            text = value.decode()
            values[name] = text if name in _CHOICES else _whole(name, text)
        config = cls(**values)
        config._check()
        return config

    def _check(self) -> None:
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not one of {choices}")
        for name in ("reject_above", "shed_above"):
            if not 1 <= getattr(self, name) <= 100:
                raise ValueError(f"{name}: must be from 1 to 100 (% pressure)")
        if self.ws_limit < 1:
            raise ValueError("ws_limit: must be at least 1")


_CHOICES = {"admission": ADMISSION_POLICIES, "shed_policy": SHED_POLICIES}


def _whole(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}: {text[:20]!r} is not a whole number") from None


@dataclass
class OverloadCounters:
    """What the node's admission and shedding did (issue 12), for the heartbeat and the
    pressure report."""

    handshakes_total: int = 0  # WebSocket handshakes it received, admitted or not
    rejected_ws_total: int = 0  # refused with 4013: over its reject threshold or ws_limit
    rejected_http_total: int = 0  # /work refused with 503: over its reject threshold
    shed_total: int = 0  # sockets it closed with 4014 to get back under its shed threshold
    shedding: bool = False  # above its shed threshold and shedding now


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
        self.overload_counters = OverloadCounters()
        self.ping_buckets = KeyedBuckets(rate=PINGS_PER_S, burst=PINGS_BURST)
        self.pings_refused_total = 0  # over the rate, or from a page that is not a dashboard's
        # the dashboards' origins, the only pages that may post to the node (read every beat)
        self.dashboard_origins: frozenset[str] = frozenset()
        self.lag = LagProbe()
        self.limits = Limits()
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first reading starts the interval
        self._cpu_peak = RecentPeak()
        # The pressure reporter's latest measure (node/reporter.py), which admission, the
        # shedder and the heartbeat read: one reader of cpu_percent, so that two callers do
        # not each get half of the interval.
        self.latest_reading: dict | None = None
        self.latest_pressure: float = 0.0  # 0..1
        self.faults = Faults()
        self._sampler: asyncio.Task | None = None  # held: the loop keeps only a weak reference
        self.sockets = SocketRegistry()  # the admitted WebSockets, on the loop (handshake.py)
        self.shedder = Shedder(self)
        self._shedding: asyncio.Task | None = None

    def start_sampling(self) -> None:
        """Time the event loop's wake-ups (see pressure.py) and start the shedder, on the loop
        that serves: called by daphne with its loop set as the current one, just before it
        runs it."""
        loop = asyncio.get_event_loop()
        self._sampler = loop.create_task(self._sample_loop_lag())
        self._shedding = loop.create_task(self.shedder.run())

    async def _sample_loop_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.lag.woke(loop.time())
            await asyncio.sleep(SAMPLE_EVERY_S)

    def pressure(self) -> dict:
        """The latest measure of the node's signals and pressure (the heartbeat's)."""
        return self.latest_reading or self.measure()

    def measure(self) -> dict:
        """Measure the node's signals and pressure now, and keep them as the latest: called
        by the pressure reporter's thread only (CPU is read since its last call)."""
        try:
            cpu = self._process.cpu_percent(None)  # since the last measure
        except psutil.Error:
            cpu = 0.0
        cpu = self._cpu_peak.add(cpu)  # the worst of the last half second, as the loop lag
        sample = Sample(
            loop_lag_ms=round(self.lag.lag_ms(time.monotonic()), 3),
            cpu_percent=cpu,
            rss_bytes=rss_bytes(),
            # the admitted sockets (hold and chat) that admission and shedding count: a shed
            # one leaves it at once, while its close handshake may take a slow client a while
            # (counted as still open, it would keep the pressure up and shed more)
            websockets=len(self.sockets),
            outgoing_bytes=self.sockets.unsent_bytes(),
        )
        reading = read_pressure(sample, self.limits)
        measured = {
            "value": reading.value,
            "dominant": reading.dominant,
            "signals": asdict(sample),
            "normalised": reading.normalised,
            "lag_wakeups": self.lag.wakeups,
        }
        self.latest_reading, self.latest_pressure = measured, reading.value
        return measured

    def pressure_now(self) -> float:
        """Pressure for a decision on the loop now (sockets.pressure_now)."""
        return pressure_now(self.latest_pressure, len(self.sockets), self.config.ws_limit)

    def shed_now(self, percent: int) -> int:
        """Shed `percent` % of the open sockets at once (never an instructor), on the loop:
        how many it closed. ValueError for a percent that is not 1..100."""
        return self.shedder.shed_now(percent)

    def overload(self) -> dict:
        """Its thresholds and policies as it applies them."""
        config = self.config
        return {
            "ws_limit": config.ws_limit,
            "reject_above": config.reject_above,
            "shed_above": config.shed_above,
            "admission": config.admission,  # the gate takes it with its next request
            "shed_policy": config.shed_policy,
            "fault": self.faults.active(),
        } | asdict(self.overload_counters)

    def apply_config(self, config: NodeConfig) -> None:
        """The admin's parameters, live: the limits pressure is read against, and the HTTP
        admission policy (a switch starts a fresh one)."""
        self.config = config
        self.limits = replace(self.limits, websockets=config.ws_limit)

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
                "backend_waiting": self.gate.backend.waiting,
                **self.gate.recent(),  # queue_ms, rtt_ms and the policy's own round trips
                "served_total": self.gate.served_total,
                "rejected_total": self.gate.rejected_total,
                "timed_out_total": self.gate.timed_out_total,
                "admission": self.gate.policy,
                "limit": self.gate.limit,
                "pings_refused_total": self.pings_refused_total,
                "weight": self.config.weight,
                "capacity": self.config.capacity,
                "latency_ms": self.config.latency_ms,
                "jitter_ms": self.config.jitter_ms,
                "pressure": self.pressure(),
                "overload": self.overload(),
                "drops": drops.snapshot(),  # the stack's silent drops (core/drops.py)
                **hooks.heartbeat_extras(),  # the demos' own counters (the carts' reads)
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
