"""The load balancer process: its server, its background tasks, control and metrics.

One asyncio loop runs everything: the proxy, the registry refresh, the health checks and the
control listener. The heartbeat thread asks the loop for each metrics snapshot, so the
balancer's state is only ever touched from the loop.
"""

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import redis
from aiohttp import web

from archviz.balancer import keys as balancer_keys
from archviz.balancer.algorithms import NAMES, make_balancer
from archviz.balancer.backends import BackendPool, HealthChecker, read_nodes, refresh_forever
from archviz.balancer.control import AlgorithmCommand
from archviz.balancer.headers import wants_websocket
from archviz.balancer.health import HealthPolicy
from archviz.balancer.listener import MAX_CONNECTIONS, Server
from archviz.balancer.login_gate import LoginGate
from archviz.balancer.proxy import Proxy
from archviz.balancer.request import Request
from archviz.balancer.server import KEEPALIVE_TIMEOUT_S, ClientConnection
from archviz.balancer.websocket import close_all, proxy_websocket
from archviz.core.control import listen_for_commands
from archviz.core.metrics import rss_bytes
from archviz.core.origins import registered_dashboard_origins
from archviz.core.registry import Metrics, now_ms
from archviz.core.runner import freeze_startup_heap
from archviz.trace.emitter import Emitter

log = logging.getLogger(__name__)

DEFAULT_ALGORITHM = "round_robin"
CONNECTION_LIMIT = 512  # pooled connections to all backends together
SHUTDOWN_GRACE_S = 1.0
METRICS_WAIT_S = 0.25
DASHBOARDS_REFRESH_S = 1.0


class CannotListen(Exception):
    """The balancer's port could not be bound."""


class RateMeter:
    """Events per second over roughly the last second, from a running total."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=8)

    def rate(self, total: int, now: float) -> float:
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[1][0] >= 1.0:
            self._samples.popleft()
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return round((n1 - n0) / (t1 - t0), 2) if t1 > t0 else 0.0


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run the balancer's loop: uvloop when installed (measured: a fifth less CPU per proxied
    request than asyncio's own loop), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def stored_algorithm(client: redis.Redis) -> str:
    """The algorithm kept in Redis, so that a restarted balancer carries on with it."""
    try:
        raw = client.get(balancer_keys.ALGORITHM)
    except redis.RedisError as exc:
        log.warning("lb: cannot read the stored algorithm, using %s: %s", DEFAULT_ALGORITHM, exc)
        return DEFAULT_ALGORITHM
    name = raw.decode(errors="replace") if raw else DEFAULT_ALGORITHM
    if name not in NAMES:
        log.warning("lb: unknown stored algorithm %r, using %s", name, DEFAULT_ALGORITHM)
        return DEFAULT_ALGORITHM
    return name


class LoadBalancer:
    """The proxy with everything that keeps it informed, for one process."""

    def __init__(
        self,
        component_id: str,
        redis_client: redis.Redis,
        emitter: Emitter,
        *,
        algorithm: str = DEFAULT_ALGORITHM,
        backend_timeout_s: float = 10.0,
        keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
        policy: HealthPolicy | None = None,
    ) -> None:
        make_balancer(algorithm)  # an unknown name fails here, before anything starts
        self.id = component_id
        self.redis = redis_client
        self.emitter = emitter
        self.algorithm = algorithm
        self.backend_timeout_s = backend_timeout_s
        self.keepalive_timeout_s = keepalive_timeout_s
        self.max_connections = max_connections
        self.pool = BackendPool(policy)
        self.login = LoginGate()
        self.proxy: Proxy | None = None
        self.server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rate = RateMeter()
        self._last_metrics = Metrics(id=component_id, ts=now_ms())

    async def serve(self, host: str, port: int, on_listening: Callable[[int], None]) -> None:
        """Serve until SIGINT or SIGTERM; `on_listening` gets the port actually bound."""
        self._loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._loop.add_signal_handler(sig, stop.set)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=CONNECTION_LIMIT),
            # Bounds each request, and the handshake (not the life) of each WebSocket.
            timeout=aiohttp.ClientTimeout(total=self.backend_timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies belong to the clients, not to us
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        self.proxy = Proxy(
            self.pool,
            session,
            self.emitter,
            source=self.id,
            algorithm=self.algorithm,
            backend_timeout_s=self.backend_timeout_s,
        )
        async with session:
            await self._refresh_once()
            on_listening(await self._listen(host, port))
            tasks = self._start_tasks(session)
            freeze_startup_heap()
            try:
                await stop.wait()
            finally:
                await self._shut_down(tasks)

    async def handle(self, request: Request, client: ClientConnection) -> None:
        """Every HTTP request the balancer receives."""
        arrival = self.proxy.arrived()
        if self.login.required() and (why := await self.login.refusal(request)):
            self.proxy.refuse(request, arrival, why)
            self.proxy.error(client, request, 401, why)
            return
        await self.proxy.http(request, client, arrival)

    async def handle_upgrade(self, request: web.BaseRequest) -> web.StreamResponse:
        """Every upgrade request, which the server hands to aiohttp: WebSockets only."""
        arrival = self.proxy.arrived()
        if not wants_websocket(request):
            return self.proxy.error_response(request, 400, "only WebSocket upgrades are proxied")
        if self.login.required() and (why := await self.login.refusal(request)):
            self.proxy.refuse(request, arrival, why)
            return self.proxy.error_response(request, 401, why)
        return await proxy_websocket(self.proxy, request, arrival)

    async def _refresh_once(self) -> None:
        """Know the nodes before taking the first request."""
        with contextlib.suppress(redis.RedisError):
            self.pool.update(await asyncio.to_thread(read_nodes, self.redis))

    async def _listen(self, host: str, port: int) -> int:
        """Start serving; the port actually bound."""
        self.server = Server(
            self.handle,
            self.handle_upgrade,
            idle_timeout_s=self.keepalive_timeout_s,
            max_connections=self.max_connections,
        )
        try:
            bound = await self.server.listen(host, port)
        except OSError as exc:  # taken between the command's check and now
            raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        log.info("%s: listening on %s:%s (%s)", self.id, host, port, self.algorithm)
        return bound

    def _start_tasks(self, session: aiohttp.ClientSession) -> list[asyncio.Task]:
        checker = HealthChecker(self.pool, session, self.proxy.health_changed)
        return [
            asyncio.create_task(refresh_forever(self.pool, self.redis), name="lb-registry"),
            asyncio.create_task(checker.run_forever(), name="lb-health"),
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
                self.proxy.dashboard_origins = origins
            await asyncio.sleep(DASHBOARDS_REFRESH_S)

    async def _shut_down(self, tasks: list[asyncio.Task]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_all(self.proxy)
        await self.server.shutdown(SHUTDOWN_GRACE_S)
        self.proxy.upstream.close()
        log.info("%s: stopped", self.id)

    # --- control -----------------------------------------------------------------

    async def on_command(self, command: AlgorithmCommand) -> None:
        """Switch the algorithm live; the new one is kept in Redis for restarts."""
        previous = self.proxy.switch(command["algorithm"])
        self.algorithm = command["algorithm"]
        log.info("lb: algorithm %s -> %s (by %s)", previous, self.algorithm, command["by"])
        self.emitter.emit(
            "lb.algorithm",
            self.id,
            src=self.id,
            trace=command["trace"] or None,
            demo="lb",
            detail={"from": previous, "to": self.algorithm, "by": command["by"]},
        )
        try:
            await asyncio.to_thread(self.redis.set, balancer_keys.ALGORITHM, self.algorithm)
        except redis.RedisError as exc:
            log.warning("lb: could not store the algorithm: %s", exc)

    # --- metrics -----------------------------------------------------------------

    def collect(self) -> Metrics:
        """The metrics snapshot, taken on the loop; called from the heartbeat thread."""
        if self._loop is None or self.proxy is None:
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
        now = time.monotonic()
        proxy = self.proxy
        return Metrics(
            id=self.id,
            ts=now_ms(),
            connections=self.server.open_connections if self.server else 0,
            rps=self._rate.rate(proxy.requests_total, now),
            rss_bytes=rss_bytes(),
            extra={
                "algorithm": proxy.algorithm,
                "requests_total": proxy.requests_total,
                "no_backend_total": proxy.no_backend_total,
                # connections refused with 503 past ARCHVIZ_LB_MAX_CONNECTIONS
                "refused_connections_total": self.server.refused_connections if self.server else 0,
                "max_connections": self.max_connections,
                "login_refused_total": self.login.refused_total,  # ARCHVIZ_REQUIRE_LOGIN
                "backends": self.pool.snapshot(now),
            },
        )
