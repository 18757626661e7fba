"""The load balancer process: its listeners, its background tasks, control and metrics.

One asyncio loop runs everything: the listeners (the nodes', the gateway replicas' and the
catalog replicas', and the dashboards' for a class: archviz/balancer/frontend.py), their
registry refreshes and health
checks, and the control listener. The heartbeat thread asks the loop for each metrics
snapshot, so the balancer's state is only ever touched from the loop.
"""

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import redis

from archviz.balancer import keys as balancer_keys
from archviz.balancer.algorithms import NAMES
from archviz.balancer.control import AlgorithmCommand
from archviz.balancer.frontend import (
    DASHBOARDS,
    GATEWAYS,
    NODES,
    SERVICES,
    CannotListen,
    Frontend,
)
from archviz.balancer.health import HealthPolicy
from archviz.balancer.listener import MAX_CONNECTIONS
from archviz.balancer.login_gate import LoginGate
from archviz.balancer.server import KEEPALIVE_TIMEOUT_S
from archviz.core.control import listen_for_commands
from archviz.core.metrics import rss_bytes
from archviz.core.origins import registered_dashboard_origins
from archviz.core.registry import Metrics, now_ms
from archviz.core.runner import freeze_startup_heap, run_loop
from archviz.trace.emitter import Emitter

__all__ = ["CannotListen", "LoadBalancer", "run", "stored_algorithm"]

log = logging.getLogger(__name__)

DEFAULT_ALGORITHM = "round_robin"  # for every listener
CONNECTION_LIMIT = 512  # pooled connections to all backends together
SHUTDOWN_GRACE_S = 1.0
METRICS_WAIT_S = 0.25
DASHBOARDS_REFRESH_S = 1.0


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run the balancer's loop: uvloop when installed (core.runner.run_loop)."""
    run_loop(main)


def stored_algorithm(client: redis.Redis, key: str = balancer_keys.ALGORITHM) -> str:
    """The algorithm kept in Redis under `key` (one per listener), so that a restarted
    balancer carries on with it."""
    try:
        raw = client.get(key)
    except redis.RedisError as exc:
        log.warning("lb: cannot read the stored algorithm, using %s: %s", DEFAULT_ALGORITHM, exc)
        return DEFAULT_ALGORITHM
    name = raw.decode(errors="replace") if raw else DEFAULT_ALGORITHM
    if name not in NAMES:
        log.warning("lb: unknown stored algorithm %r, using %s", name, DEFAULT_ALGORITHM)
        return DEFAULT_ALGORITHM
    return name


class LoadBalancer:
    """The listeners with everything that keeps them informed, for one process."""

    def __init__(
        self,
        component_id: str,
        redis_client: redis.Redis,
        emitter: Emitter,
        *,
        algorithm: str = DEFAULT_ALGORITHM,
        gateway_algorithm: str = DEFAULT_ALGORITHM,
        services_algorithm: str = DEFAULT_ALGORITHM,
        backend_timeout_s: float = 10.0,
        keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
        policy: HealthPolicy | None = None,
        dashboards: bool = False,
    ) -> None:
        self.id = component_id
        self.redis = redis_client
        self.emitter = emitter
        self.backend_timeout_s = backend_timeout_s
        self.login = LoginGate()  # the nodes' listener's (see frontend.GATEWAYS)
        shared = {
            "source": component_id,
            "emitter": emitter,
            "backend_timeout_s": backend_timeout_s,
            "keepalive_timeout_s": keepalive_timeout_s,
            "max_connections": max_connections,  # each listener's own cap
            "policy": policy,
            "login": self.login,
        }
        self.nodes = Frontend(NODES, algorithm=algorithm, **shared)
        self.gateway = Frontend(GATEWAYS, algorithm=gateway_algorithm, **shared)
        self.services = Frontend(SERVICES, algorithm=services_algorithm, **shared)
        # ARCHVIZ_DASHBOARDS > 1: the dashboards' listener, least connections (frontend.py)
        self.dashboards = (
            Frontend(DASHBOARDS, algorithm="least_connections", **shared) if dashboards else None
        )
        every = [self.nodes, self.gateway, self.services]
        if self.dashboards is not None:
            every.append(self.dashboards)
        self.frontends = {frontend.spec.name: frontend for frontend in every}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_metrics = Metrics(id=component_id, ts=now_ms())

    async def serve(
        self,
        host: str,
        port: int,
        on_listening: Callable[[int], None],
        *,
        gateway_port: int = 0,
        services_port: int = 0,
        dashboards_port: int = 0,
    ) -> None:
        """Serve until SIGINT or SIGTERM; `on_listening` gets the nodes' port actually bound,
        once every listener listens (the others' ports are in the metrics)."""
        self._loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._loop.add_signal_handler(sig, stop.set)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=CONNECTION_LIMIT),
            # Bounds each health check.
            timeout=aiohttp.ClientTimeout(total=self.backend_timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies belong to the clients, not to us
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        async with session:
            for frontend in self.frontends.values():
                frontend.start()
            await asyncio.gather(*(f.refresh_once(self.redis) for f in self.frontends.values()))
            ports = {NODES.name: port, GATEWAYS.name: gateway_port, SERVICES.name: services_port}
            bound = await self._listen(host, ports | {DASHBOARDS.name: dashboards_port})
            on_listening(bound)
            tasks = self._start_tasks(session)
            freeze_startup_heap()
            try:
                await stop.wait()
            finally:
                await self._shut_down(tasks)

    async def _listen(self, host: str, ports: dict[str, int]) -> int:
        """Every listener (on its port in `ports`, by name), or none: the nodes' port bound."""
        opened: list[Frontend] = []
        try:
            for name, frontend in self.frontends.items():
                await frontend.listen(host, ports[name])
                opened.append(frontend)
        except CannotListen:
            for frontend in opened:
                await frontend.close(0)
            raise
        return self.nodes.port

    def _start_tasks(self, session: aiohttp.ClientSession) -> list[asyncio.Task]:
        tasks = [t for f in self.frontends.values() for t in f.tasks(self.redis, session)]
        return [
            *tasks,
            asyncio.create_task(self._follow_dashboards(), name="lb-dashboards"),
            asyncio.create_task(
                listen_for_commands(self.id, "lb.", self.on_command), name="lb-control"
            ),
        ]

    async def _follow_dashboards(self) -> None:
        """Keep the dashboards' origins current; while Redis is away, keep the last ones."""
        while True:
            with contextlib.suppress(redis.RedisError):
                origins = await asyncio.to_thread(registered_dashboard_origins, self.redis)
                for frontend in self.frontends.values():
                    frontend.proxy.dashboard_origins = origins
            await asyncio.sleep(DASHBOARDS_REFRESH_S)

    async def _shut_down(self, tasks: list[asyncio.Task]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(f.close(SHUTDOWN_GRACE_S) for f in self.frontends.values()))
        log.info("%s: stopped", self.id)

    # --- control -----------------------------------------------------------------

    async def on_command(self, command: AlgorithmCommand) -> None:
        """Switch one listener's algorithm live; the new one is kept in Redis for restarts."""
        frontend = self.frontends[command.get("listener", NODES.name)]
        algorithm = command["algorithm"]
        previous = frontend.switch(algorithm)
        name = frontend.spec.name
        log.info("lb: %s algorithm %s -> %s (by %s)", name, previous, algorithm, command["by"])
        self.emitter.emit(
            "lb.algorithm",
            self.id,
            src=self.id,
            trace=command["trace"] or None,
            demo=frontend.spec.demo,
            detail={"from": previous, "to": algorithm, "by": command["by"], "listener": name},
        )
        try:
            await asyncio.to_thread(self.redis.set, frontend.spec.algorithm_key, algorithm)
        except redis.RedisError as exc:
            log.warning("lb: could not store the algorithm: %s", exc)

    # --- metrics -----------------------------------------------------------------

    def collect(self) -> Metrics:
        """The metrics snapshot, taken on the loop; called from the heartbeat thread."""
        if self._loop is None or self.nodes.proxy is None:
            return self._last_metrics
        try:
            future = asyncio.run_coroutine_threadsafe(self._snapshot(), self._loop)
            self._last_metrics = future.result(METRICS_WAIT_S)
        except (TimeoutError, RuntimeError):
            pass  # the loop is busy or stopping: the last snapshot will do
        except Exception:  # a bug here must not stop the heartbeat, or the LB would vanish
            log.exception("lb: could not take the metrics snapshot")
        return self._last_metrics

    async def _snapshot(self) -> Metrics:
        """The nodes' listener at the top level (as the LB page has always read it), the
        gateway replicas' in extra["gateway_listener"] and the catalog replicas' in
        extra["services_listener"], their ports included."""
        now = time.monotonic()
        nodes = self.nodes.snapshot(now)
        return Metrics(
            id=self.id,
            ts=now_ms(),
            connections=nodes.pop("connections"),
            rps=nodes.pop("rps"),
            rss_bytes=rss_bytes(),
            extra={
                **nodes,
                "login_refused_total": self.login.refused_total,  # ARCHVIZ_REQUIRE_LOGIN
                "gateway_listener": self.gateway.snapshot(now),
                "services_listener": self.services.snapshot(now),
                **(
                    {"dashboards_listener": self.dashboards.snapshot(now)}
                    if self.dashboards is not None
                    else {}
                ),
            },
        )
