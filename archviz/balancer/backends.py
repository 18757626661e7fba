"""The balancer's backends: the nodes (or gateway replicas) in the registry, their health,
and their load.

`BackendPool` is one listener's view, changed only on its event loop. The loops below keep
it current: one re-reads the registry (and each node's weight) every half second, one runs
the active health checks, and for the nodes' pool one reads each node's pressure report
every 100 ms (headroom.py). Nothing here learns a backend's address but the registry.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import aiohttp
import redis

from archviz.balancer.algorithms import Backend, BackendStats, EwmaTracker
from archviz.balancer.headroom import NOT_REPORTING, NOT_YET_REPORTED, Pressure
from archviz.balancer.health import HealthPolicy, HealthTable, Transition
from archviz.core import keys, registry
from archviz.core.pressure_report import parse_report
from archviz.core.registry import Registration

log = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 0.5
PRESSURE_INTERVAL_S = 0.1  # as often as the nodes write their reports
CHECK_TIMEOUT_S = 0.5
CHECK_TICK_S = 0.1  # how often the checker looks for backends whose check is due


@dataclass
class BackendState:
    """One node as the balancer sees it: where it is, its weight, and what it is doing."""

    registration: Registration
    backend: Backend  # what the algorithms see: its id and weight
    in_flight: int = 0
    websockets: int = 0
    requests_total: int = 0
    errors_total: int = 0  # failed: no connection, a timeout, a 5xx other than 503
    refused_total: int = 0  # 503 from the node itself: at capacity, its queue full
    pressure: Pressure = NOT_YET_REPORTED  # until its first report is read

    @property
    def address(self) -> str:
        """host:port for a URL (an IPv6 host in brackets)."""
        host = self.registration.host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"{host}:{self.registration.port}"

    def same_process(self, other: Registration) -> bool:
        mine = self.registration
        return (other.address, other.started_at) == (mine.address, mine.started_at)


class BackendPool:
    """The registered nodes with their health and load; every method runs on the event loop."""

    def __init__(
        self,
        policy: HealthPolicy | None = None,
        *,
        ewma_tau_s: float = 10.0,
        tracks_pressure: bool = False,
    ) -> None:
        self.health = HealthTable(policy)
        self.latency = EwmaTracker(tau_s=ewma_tau_s)
        # Only the nodes report pressure: in another pool no report means nothing.
        self.tracks_pressure = tracks_pressure
        self._by_id: dict[str, BackendState] = {}

    def update(self, found: Iterable[tuple[Registration, int]]) -> None:
        """Track exactly these nodes; one that restarted comes back new, with no history."""
        fresh: dict[str, BackendState] = {}
        restarted: list[str] = []
        for found_registration, weight in found:
            state = self._by_id.get(found_registration.id)
            if state is None or not state.same_process(found_registration):
                if state is not None:
                    restarted.append(state.registration.id)
                state = BackendState(found_registration, Backend(found_registration.id))
            if state.backend.weight != weight:
                state.backend = Backend(found_registration.id, weight)
            fresh[found_registration.id] = state
        for backend_id in set(self._by_id) - set(fresh) | set(restarted):
            self.latency.forget(backend_id)
        self.health.sync(i for i in fresh if i not in restarted)
        self.health.sync(fresh)
        self._by_id = fresh

    def ids(self) -> list[str]:
        return list(self._by_id)

    def address(self, backend_id: str) -> str:
        return self._by_id[backend_id].address

    def available(self, now: float, *, exclude: Iterable[str] = ()) -> list[Backend]:
        """The backends that may take traffic now, in id order."""
        excluded = set(exclude)
        ids = [i for i in self.health.available(self._by_id, now) if i not in excluded]
        return [self._by_id[i].backend for i in ids]

    def stats(self, now: float) -> dict[str, BackendStats]:
        return {
            backend_id: BackendStats(
                in_flight=state.in_flight,
                ewma_ms=self.latency.estimate(backend_id, now),
                connections=state.websockets,
            )
            for backend_id, state in self._by_id.items()
        }

    def pressures(self) -> dict[str, Pressure]:
        return {backend_id: state.pressure for backend_id, state in self._by_id.items()}

    def read_pressures(self, read: Mapping[str, Pressure]) -> None:
        """Take the pressures just read; a backend that left meanwhile is skipped, and one
        that came, or has not reported yet, keeps NOT_YET_REPORTED until its first report."""
        for backend_id, pressure in read.items():
            state = self._by_id.get(backend_id)
            if state is None or (state.pressure.awaited and not pressure.reporting):
                continue
            state.pressure = pressure

    # --- what the proxy reports ----------------------------------------------------

    def started(self, backend_id: str) -> None:
        if state := self._by_id.get(backend_id):
            state.in_flight += 1
            state.requests_total += 1

    def finished(
        self, backend_id: str, *, ok: bool, refused: bool = False, latency_ms: float | None = None
    ) -> None:
        """A request ended; a refusal (the node's 503 at capacity) is counted apart from the
        errors; a latency is folded into the estimate only for a served one."""
        if not (state := self._by_id.get(backend_id)):
            return  # it left the registry while the request was out
        state.in_flight = max(0, state.in_flight - 1)
        if refused:
            state.refused_total += 1
        elif not ok:
            state.errors_total += 1
        if latency_ms is not None:
            self.latency.observe(backend_id, latency_ms, time.monotonic())

    def websocket_opened(self, backend_id: str) -> None:
        if state := self._by_id.get(backend_id):
            state.websockets += 1

    def websocket_closed(self, backend_id: str) -> None:
        if state := self._by_id.get(backend_id):
            state.websockets = max(0, state.websockets - 1)

    def record_connect_failure(self, backend_id: str, now: float) -> Transition | None:
        if backend_id not in self.health:
            return None
        return self.health[backend_id].record_connect_failure(now)

    def record_check(self, backend_id: str, ok: bool, now: float) -> Transition | None:
        if backend_id not in self.health:
            return None
        return self.health[backend_id].record_check(ok, now)

    # --- for the metrics -------------------------------------------------------------

    def snapshot(self, now: float) -> list[dict]:
        """Each backend as the dashboard shows it."""
        return [
            {
                "id": backend_id,
                "health": self.health[backend_id].state,
                "health_detail": self.health[backend_id].describe(now),
                "in_flight": state.in_flight,
                "ewma_ms": round(self.latency.estimate(backend_id, now), 3),
                "requests_total": state.requests_total,
                "errors_total": state.errors_total,
                "refused_total": state.refused_total,
                "websockets": state.websockets,
                **self._pressure_shown(state.pressure),
            }
            for backend_id, state in self._by_id.items()
        ]

    def _pressure_shown(self, pressure: Pressure) -> dict:
        if not self.tracks_pressure:
            return {"pressure": None, "reject_above": None, "reporting": False}
        return {
            "pressure": round(pressure.value, 3),
            "reject_above": round(pressure.reject_above, 3),
            "reporting": pressure.reporting,
        }


Found = list[tuple[Registration, int]]  # the registered backends, each with its weight


def read_nodes(client: redis.Redis) -> Found:
    """Every registered node the supervisor started, with its weight (blocking: run it in a
    thread); a registration that does not match the supervisor's record is left out."""
    nodes = registry.trusted(client, "node")
    if not nodes:
        return []
    pipe = client.pipeline(transaction=False)
    for node in nodes:
        pipe.hget(keys.node_config(node.id), "weight")
    return [(node, _weight(raw)) for node, raw in zip(nodes, pipe.execute(), strict=True)]


def read_unweighted(client: redis.Redis, kind: str) -> Found:
    """Every registered component of `kind` the supervisor started, each of weight 1 (the
    gateway replicas: the admin gives them none); blocking, like read_nodes."""
    return [(found, 1) for found in registry.trusted(client, kind)]


def _weight(raw: bytes | None) -> int:
    """A node's configured weight; missing or nonsense counts as 1."""
    try:
        return max(1, int(raw)) if raw is not None else 1
    except ValueError:
        return 1


async def refresh_forever(
    pool: BackendPool,
    client: redis.Redis,
    *,
    read: Callable[[redis.Redis], Found] = read_nodes,
    interval_s: float = REFRESH_INTERVAL_S,
) -> None:
    """Keep the pool in step with the registry (what `read` finds in it); while Redis is
    away, keep the last view."""
    failing = False
    while True:
        try:
            pool.update(await asyncio.to_thread(read, client))
            failing = False
        except redis.RedisError as exc:
            if not failing:
                log.warning("lb: cannot read the registry, keeping the last view: %s", exc)
            failing = True
        await asyncio.sleep(interval_s)


def read_pressures(client: redis.Redis, ids: list[str]) -> dict[str, Pressure]:
    """Each node's pressure from its report, in one MGET (blocking: run it in a thread)."""
    if not ids:
        return {}
    raws = client.mget([keys.node_pressure(backend_id) for backend_id in ids])
    return {
        backend_id: Pressure.from_report(parse_report(raw))
        for backend_id, raw in zip(ids, raws, strict=True)
    }


async def read_pressures_forever(
    pool: BackendPool, client: redis.Redis, *, interval_s: float = PRESSURE_INTERVAL_S
) -> None:
    """Keep the pool's pressures current. While Redis is away no report can be read (nor
    written), so every node counts as not reporting: the balancer routes as it did before
    reports (headroom.with_headroom)."""
    failing = False
    while True:
        ids = pool.ids()
        try:
            pool.read_pressures(await asyncio.to_thread(read_pressures, client, ids))
            failing = False
        except redis.RedisError as exc:
            if not failing:
                log.warning("lb: cannot read the nodes' pressure, as if none reported: %s", exc)
            failing = True
            pool.read_pressures(dict.fromkeys(ids, NOT_REPORTING))
        await asyncio.sleep(interval_s)


OnTransition = Callable[[Transition], None]


class HealthChecker:
    """Active checks: GET `path` (a node's /health) on every backend each
    `policy.interval_s`, in parallel; a 200 passes."""

    def __init__(
        self,
        pool: BackendPool,
        session: aiohttp.ClientSession,
        on_transition: OnTransition,
        *,
        path: str = "/health",
        timeout_s: float = CHECK_TIMEOUT_S,
    ) -> None:
        self.pool = pool
        self.session = session
        self.on_transition = on_transition
        self.path = path
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._running: dict[str, asyncio.Task] = {}

    async def run_forever(self) -> None:
        try:
            while True:
                self.tick()
                await asyncio.sleep(CHECK_TICK_S)
        finally:
            for task in self._running.values():
                task.cancel()

    def tick(self) -> None:
        """End ejections whose time is up, and start the checks that are due."""
        now = time.monotonic()
        for transition in self.pool.health.tick(now):
            self.on_transition(transition)
        for backend_id in self.pool.health.due(now):
            if backend_id not in self._running:
                task = asyncio.create_task(self._check(backend_id, self.pool.address(backend_id)))
                self._running[backend_id] = task
                task.add_done_callback(lambda _, i=backend_id: self._running.pop(i, None))

    async def _check(self, backend_id: str, address: str) -> None:
        ok = await self._passes(address)
        transition = self.pool.record_check(backend_id, ok, time.monotonic())
        if transition is not None:
            self.on_transition(transition)

    async def _passes(self, address: str) -> bool:
        try:
            url = f"http://{address}{self.path}"
            async with self.session.get(url, timeout=self.timeout) as r:
                await r.read()
                return r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False
