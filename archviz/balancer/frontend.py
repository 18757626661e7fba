"""One listener of the balancer: its port, the pool of backends behind it, and what keeps
that pool current.

The balancer has three (DESIGN.md; issue 11), and a fourth for a class: the nodes' on
ARCHVIZ_LB_PORT; the gateway
replicas' on ARCHVIZ_GATEWAY_PORT, the real-world shape LB -> gateways -> services; and the
catalog replicas' on ARCHVIZ_SERVICES_PORT, the same services with no gateway in front (the
side by side: what reaches a service behind a plain balancer); and, when the lab runs several
dashboards (ARCHVIZ_DASHBOARDS > 1, issue 14), theirs on ARCHVIZ_DASHBOARD_PORT: the lab's
own pages scale out on the pattern they teach. Each has
its own pool, algorithm, health checks, connection cap and counters, so that a flood on one
port takes none of the other's connections; they share the process's loop, its client
session to the backends, its emitter and what it knows of the dashboards.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
import redis

from archviz.balancer import keys as balancer_keys
from archviz.balancer.algorithms import make_balancer
from archviz.balancer.backends import (
    BackendPool,
    Found,
    HealthChecker,
    read_nodes,
    read_pressures,
    read_pressures_forever,
    read_unweighted,
    refresh_forever,
)
from archviz.balancer.headers import wants_websocket
from archviz.balancer.health import HealthPolicy
from archviz.balancer.listener import MAX_CONNECTIONS, Server
from archviz.balancer.login_gate import LoginGate
from archviz.balancer.proxy import Proxy
from archviz.balancer.request import Request
from archviz.balancer.server import KEEPALIVE_TIMEOUT_S, ClientConnection
from archviz.balancer.websocket import proxy_websocket
from archviz.trace.emitter import Emitter

log = logging.getLogger(__name__)


class CannotListen(Exception):
    """A listener's port could not be bound; the message names its setting."""


@dataclass(frozen=True)
class PoolSpec:
    """What one listener balances over, and how it speaks of it."""

    name: str  # "nodes", "gateway", "services": in the logs, metrics, lb.algorithm's `listener`
    kind: str  # the registry kind of its backends
    health_path: str  # what the active checks GET on each backend; a 200 passes
    demo: str  # the `demo` of its trace events
    setting: str  # the setting of its port, named in errors
    algorithm_key: str  # where its algorithm is kept across restarts
    weighted: bool  # whether the admin gives its backends a weight (the nodes' config)
    login_gate: bool  # whether ARCHVIZ_REQUIRE_LOGIN is enforced here
    open_reads: bool  # "*" CORS on reads (headers.response_headers); else the backends decide
    reports_pressure: bool = False  # whether its backends write pressure reports (the nodes)
    fronts_dashboards: bool = False  # the lab's own pages, not a demo's backends (DASHBOARDS)

    def reader(self) -> Callable[[redis.Redis], Found]:
        """How its backends are read from the registry (blocking)."""
        return read_nodes if self.weighted else partial(read_unweighted, kind=self.kind)


NODES = PoolSpec(
    name="nodes",
    kind="node",
    health_path="/health",
    demo="lb",
    setting="ARCHVIZ_LB_PORT",
    algorithm_key=balancer_keys.ALGORITHM,
    weighted=True,
    login_gate=True,
    open_reads=True,
    reports_pressure=True,  # headroom first (headroom.py)
)
# The gateway replicas answer GET /gateway/health with 200 (JSON) while they can serve. The
# login gate stays off: authenticating is the gateway's own job (bearer tokens), as it would
# be behind a real load balancer.
GATEWAYS = PoolSpec(
    name="gateway",
    kind="gateway",
    health_path="/gateway/health",
    demo="gateway",
    setting="ARCHVIZ_GATEWAY_PORT",
    algorithm_key=balancer_keys.GATEWAY_ALGORITHM,
    weighted=False,
    login_gate=False,
    open_reads=False,  # the gateway answers CORS itself, for the dashboards' pages only
)
# The catalog replicas, with nothing in front but the balancer: every request reaches one,
# whatever its token (the catalog counts them by it). The catalog answers CORS itself too.
SERVICES = PoolSpec(
    name="services",
    kind="catalog",
    health_path="/catalog/health",
    demo="gateway",
    setting="ARCHVIZ_SERVICES_PORT",
    algorithm_key=balancer_keys.SERVICES_ALGORITHM,
    weighted=False,
    login_gate=False,
    open_reads=False,
)

# The dashboards, when the lab runs several. Their sessions are in the database every one of
# them reads, and every one runs its own feed from Redis, so any dashboard serves any request:
# least connections spreads the long-lived lab sockets. The Host header goes on as the
# browser sent it, so that each dashboard checks Origin (the lab socket) and CSRF against the
# port learners opened; the client's address goes in X-Forwarded-For with the lab client
# header, so a dashboard's per-address limits (log-ins) count learners, not the balancer. No
# lb.route per request: a learner's page load is not the load balancer demo's traffic (its
# counters are this listener's own, apart from the nodes'), and a traced request would be
# sent to every open tab. Health changes and refusals are traced, with demo "dashboard".
DASHBOARDS = PoolSpec(
    name="dashboards",
    kind="dashboard",
    health_path="/health",
    demo="dashboard",
    setting="ARCHVIZ_DASHBOARD_PORT",
    algorithm_key=balancer_keys.DASHBOARDS_ALGORITHM,
    weighted=False,
    login_gate=False,  # each dashboard asks for a login itself (ARCHVIZ_REQUIRE_LOGIN)
    open_reads=False,  # and answers CORS itself
    fronts_dashboards=True,
)


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


class Frontend:
    """One listening port, the pool behind it, and the tasks that keep the pool current."""

    def __init__(
        self,
        spec: PoolSpec,
        *,
        source: str,
        emitter: Emitter,
        algorithm: str,
        backend_timeout_s: float = 10.0,
        keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
        policy: HealthPolicy | None = None,
        login: LoginGate | None = None,
    ) -> None:
        make_balancer(algorithm)  # an unknown name fails here, before anything starts
        self.spec = spec
        self.source = source
        self.emitter = emitter
        self.algorithm = algorithm
        self.backend_timeout_s = backend_timeout_s
        self.keepalive_timeout_s = keepalive_timeout_s
        self.max_connections = max_connections
        self.pool = BackendPool(policy, tracks_pressure=spec.reports_pressure)
        self.login = login if spec.login_gate else None
        self.proxy: Proxy | None = None
        self.server: Server | None = None
        self.port = 0
        self._rate = RateMeter()

    def start(self) -> None:
        """Make its proxy."""
        self.proxy = Proxy(
            self.pool,
            self.emitter,
            source=self.source,
            demo=self.spec.demo,
            algorithm=self.algorithm,
            backend_timeout_s=self.backend_timeout_s,
            open_reads=self.spec.open_reads,
            fronts_dashboards=self.spec.fronts_dashboards,
        )

    async def refresh_once(self, client: redis.Redis) -> None:
        """Know the backends before taking the first request."""
        with contextlib.suppress(redis.RedisError):
            self.pool.update(await asyncio.to_thread(self.spec.reader(), client))
            if self.pool.tracks_pressure:
                read = await asyncio.to_thread(read_pressures, client, self.pool.ids())
                self.pool.read_pressures(read)

    async def listen(self, host: str, port: int) -> int:
        """Start serving; the port actually bound."""
        self.server = Server(
            self.handle,
            self.handle_upgrade,
            idle_timeout_s=self.keepalive_timeout_s,
            max_connections=self.max_connections,
        )
        try:
            self.port = await self.server.listen(host, port)
        except OSError as exc:  # taken between the command's check and now
            why = exc.strerror or exc
            message = f"cannot listen on {host}:{port}: {why} (set {self.spec.setting})"
            raise CannotListen(message) from None
        log.info(
            "%s: %s listener on %s:%s (%s)",
            self.source, self.spec.name, host, self.port, self.proxy.algorithm,
        )  # fmt: skip
        return self.port

    def tasks(self, client: redis.Redis, session: aiohttp.ClientSession) -> list[asyncio.Task]:
        """Its registry refresh and its active health checks, started."""
        checker = HealthChecker(
            self.pool, session, self.proxy.health_changed, path=self.spec.health_path
        )
        name = f"lb-{self.spec.name}"
        refresh = refresh_forever(self.pool, client, read=self.spec.reader())
        tasks = [
            asyncio.create_task(refresh, name=f"{name}-registry"),
            asyncio.create_task(checker.run_forever(), name=f"{name}-health"),
        ]
        if self.pool.tracks_pressure:
            pressures = read_pressures_forever(self.pool, client)
            tasks.append(asyncio.create_task(pressures, name=f"{name}-pressure"))
        return tasks

    async def close(self, grace_s: float) -> None:
        """Close its connections and WebSockets (busy ones get `grace_s`)."""
        if self.server is not None:
            await self.server.shutdown(grace_s)
        if self.proxy is not None:
            self.proxy.upstream.close()

    # --- requests ----------------------------------------------------------------

    async def handle(self, request: Request, client: ClientConnection) -> None:
        """Every HTTP request this listener receives."""
        arrival = self.proxy.arrived(request)
        if why := await self._login_refusal(request):
            self.proxy.refuse(request, arrival, why)
            self.proxy.error(client, request, 401, why)
            return
        await self.proxy.http(request, client, arrival)

    async def handle_upgrade(
        self, request: Request, client: ClientConnection, early: bytes
    ) -> None:
        """Every upgrade request: WebSockets only."""
        arrival = self.proxy.arrived(request)
        if not wants_websocket(request):
            self.proxy.error(client, request, 400, "only WebSocket upgrades are proxied")
            return
        if why := await self._login_refusal(request):
            self.proxy.refuse(request, arrival, why)
            self.proxy.error(client, request, 401, why)
            return
        await proxy_websocket(self.proxy, request, client, arrival, early)

    async def _login_refusal(self, request: Request) -> str | None:
        """Why ARCHVIZ_REQUIRE_LOGIN keeps this request out, or None (also when it is off, or
        not enforced on this listener)."""
        if self.login is None or not self.login.required():
            return None
        return await self.login.refusal(request)

    # --- control and metrics ---------------------------------------------------------

    def switch(self, algorithm: str) -> str:
        """Use another algorithm from the next request on; the previous one's name."""
        self.algorithm = algorithm
        return self.proxy.switch(algorithm)

    @property
    def open_connections(self) -> int:
        return self.server.open_connections if self.server else 0

    @property
    def refused_connections(self) -> int:
        return self.server.refused_connections if self.server else 0

    def rps(self, now: float) -> float:
        """Requests a second over about the last second (call it once per snapshot)."""
        return self._rate.rate(self.proxy.requests_total, now)

    def snapshot(self, now: float) -> dict[str, Any]:
        """This listener as the metrics show it: where it listens, what it did, its pool."""
        proxy = self.proxy
        return {
            "port": self.port,
            "algorithm": proxy.algorithm,
            "connections": self.open_connections,
            "rps": self.rps(now),
            "requests_total": proxy.requests_total,
            "no_backend_total": proxy.no_backend_total,
            "retried_total": proxy.retried_total,
            # routed away from a node over its reject threshold (headroom.py)
            "diverted_total": proxy.diverted_total,
            # connections refused with 503 past ARCHVIZ_LB_MAX_CONNECTIONS
            "refused_connections_total": self.refused_connections,
            "max_connections": self.max_connections,
            "backends": self.pool.snapshot(now),
        }
