"""The traffic generator: Poisson arrivals of `GET /work` and a pool of long-lived
WebSocket clients, aimed at the load balancer or, while there is none, at the nodes.

Everything runs on one asyncio loop except `snapshot`, which the heartbeat thread
calls: the window statistics and the WebSocket table are shared under a lock.
"""

import asyncio
import itertools
import json
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal

import aiohttp
import redis

from archviz.core import hooks
from archviz.core.control import InvalidCommand
from archviz.core.http import LAB_CLIENT_HEADER, MAX_WORK_MS, NO_NODE, NODE_HEADER, lab_client_token
from archviz.core.registry import Registration, trusted, trusted_lookup
from archviz.traffic import keys as traffic_keys
from archviz.traffic.arrivals import (
    WINDOW_S,
    Outcome,
    WindowStats,
    next_interval_s,
    reconnect_delay_s,
    sample_work_ms,
)
from archviz.traffic.control import TRAFFIC_LIMITS, validate_traffic

log = logging.getLogger(__name__)

VIEW_TTL_MS = 3_000

MAX_IN_FLIGHT = 1_000  # more arrivals than this in flight fail at once: "generator saturated"
MAX_WS_CLIENTS = next(high for name, _, _, high in TRAFFIC_LIMITS if name == "ws_clients")
REQUEST_TIMEOUT_S = 10.0
MAX_LAG_S = 1.0  # a loop further behind than this skips ahead rather than burst
HELLO_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 1.0
WS_HEARTBEAT_S = 5.0  # pings notice a node that stopped answering (paused, cut off)
SATURATED = "generator saturated"  # too many in flight: the arrival fails at once
BEHIND = "generator behind"  # the loop was starved: the arrival was never sent
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)


@dataclass(frozen=True)
class TrafficSettings:
    rate: float = 0.0  # requests per second; 0: send nothing
    work_ms: float = 10.0
    variance_ms: float = 0.0  # standard deviation of the work
    ws_clients: int = 0
    queue: str = "off"  # off | also: every arrival is also enqueued as a job | only

    @classmethod
    def from_mapping(cls, obj: object) -> "TrafficSettings":
        """Settings from a traffic.set command or the stored JSON; InvalidCommand if bad."""
        if not isinstance(obj, dict):
            raise InvalidCommand("traffic settings must be a JSON object")
        return cls(**validate_traffic(obj))

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def load_settings(client: redis.Redis) -> TrafficSettings:
    """The stored settings, so a restarted generator resumes; defaults if none or bad."""
    raw = client.get(traffic_keys.SETTINGS)
    if raw is None:
        return TrafficSettings()
    try:
        return TrafficSettings.from_mapping(json.loads(raw))
    except (ValueError, InvalidCommand) as exc:
        log.warning("ignored the stored traffic settings %r: %s", raw, exc)
        return TrafficSettings()


def save_settings(client: redis.Redis, settings: TrafficSettings) -> None:
    client.set(traffic_keys.SETTINGS, settings.to_json())


@dataclass(frozen=True)
class Target:
    mode: Literal["lb", "nodes"]
    addresses: tuple[str, ...]  # host:port, taken in rotation


def find_target(client: redis.Redis) -> Target:
    """The registered load balancer; without one, every registered node (only the ones the
    supervisor started: see registry.trusted)."""
    balancer = trusted_lookup(client, "balancer", "lb")
    if balancer is not None:
        return Target("lb", (connect_address(balancer),))
    return Target("nodes", tuple(connect_address(node) for node in trusted(client, "node")))


def connect_address(registration: Registration) -> str:
    """Where to connect to a component: a wildcard bind address means this machine."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(
        registration.host, registration.host
    )
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{registration.port}"


def classify(status: int, body: bytes) -> tuple[Outcome, str]:
    """A response's outcome, and the reason when it failed."""
    if status == 503:
        return "rejected", ""
    if status != 200:
        return "failed", f"HTTP {status}"
    try:
        queued = json.loads(body).get("queued") is True
    except (ValueError, AttributeError):
        return "failed", "unreadable answer"
    return ("queued" if queued else "ok"), ""


class TrafficGenerator:
    def __init__(
        self,
        settings: TrafficSettings | None = None,
        *,
        rng: random.Random | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        window_s: float = WINDOW_S,
        sinks: list[hooks.ArrivalSink] | None = None,
    ) -> None:
        self.settings = settings or TrafficSettings()
        self.target = Target("nodes", ())  # the heartbeat thread refreshes it
        self.max_in_flight = max_in_flight
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._stats = WindowStats(window_s)
        self._ws_nodes: dict[int, str] = {}  # open WebSocket -> the node it is pinned to
        self._requests: set[asyncio.Task] = set()
        self._holders: list[asyncio.Task] = []
        self._holder_ids = itertools.count()
        self._turn = itertools.count()
        self._lab_client = {LAB_CLIENT_HEADER: lab_client_token()}
        self._rate_changed: asyncio.Event | None = None
        self._scheduler: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None
        # where arrivals also go when settings.queue says so (the queue's producer)
        self.sinks = sinks if sinks is not None else [make() for make in hooks.arrival_sinks()]

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        self._rate_changed = asyncio.Event()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.max_in_flight + MAX_WS_CLIENTS),
            # a total timeout would also end long-lived WebSockets: requests set their own
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=REQUEST_TIMEOUT_S),
        )
        self._scheduler = asyncio.create_task(self._schedule())
        self._resize_pool()
        for sink in self.sinks:
            await sink.start()

    async def close(self) -> None:
        """Stop sending and drop every connection."""
        tasks = [t for t in (self._scheduler, *self._requests, *self._holders) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:  # bounded: shutdown must stay quick even on a starved machine
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S)
        self._holders.clear()
        if self._session is not None:
            await self._session.close()
        for sink in self.sinks:
            await sink.close()

    def apply(self, settings: TrafficSettings) -> None:
        """Take new settings at once: a new rate restarts the arrival schedule."""
        rate_changed = settings.rate != self.settings.rate
        self.settings = settings
        if rate_changed and self._rate_changed is not None:
            self._rate_changed.set()
        self._resize_pool()

    @property
    def in_flight(self) -> int:
        return len(self._requests)

    def snapshot(self) -> dict[str, Any]:
        """The TrafficView, plus where the traffic goes and which node holds each socket."""
        with self._lock:
            window = self._stats.snapshot(time.monotonic())
            sample = self._stats.latency_sample()
            ws_nodes = Counter(self._ws_nodes.values())
        settings = self.settings
        return {
            "up": True,
            "rate": settings.rate,
            "work_ms": settings.work_ms,
            "variance_ms": settings.variance_ms,
            "ws_clients": settings.ws_clients,
            "ws_open": sum(ws_nodes.values()),
            **window,
            "target": self.target.mode,
            "ws_nodes": dict(sorted(ws_nodes.items())),
            "in_flight": self.in_flight,
            "queue": settings.queue,
            "latency_sample": sample,
            **{k: v for sink in self.sinks for k, v in sink.snapshot().items()},
        }

    # --- requests ----------------------------------------------------------------

    async def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            rate = self.settings.rate
            if rate <= 0:
                await self._rate_changed.wait()
                self._rate_changed.clear()
                next_at = loop.time()
                continue
            behind_s = loop.time() - MAX_LAG_S - next_at
            if behind_s > 0:  # starved of CPU: skip ahead, but count what was not sent
                self._missed(round(behind_s * rate))
                next_at += behind_s
            next_at += next_interval_s(self._rng, rate)
            delay = next_at - loop.time()
            if delay > 0:
                if await self._rate_changes_within(delay):
                    next_at = loop.time()
                    continue
            else:
                await asyncio.sleep(0)  # behind schedule: catch up, but let answers in
            self._fire()

    async def _rate_changes_within(self, delay: float) -> bool:
        try:
            await asyncio.wait_for(self._rate_changed.wait(), delay)
        except TimeoutError:
            return False
        self._rate_changed.clear()
        return True

    def _missed(self, arrivals: int) -> None:
        now = time.monotonic()
        with self._lock:
            for _ in range(arrivals):
                self._stats.sent(now)
                self._stats.completed(now, "failed", reason=BEHIND)

    def _fire(self) -> None:
        settings = self.settings
        work_ms = sample_work_ms(
            self._rng, settings.work_ms, settings.variance_ms, cap_ms=MAX_WORK_MS
        )
        if settings.queue != "off":
            for sink in self.sinks:
                sink.offer(work_ms)
        if settings.queue == "only":
            return
        now = time.monotonic()
        with self._lock:
            self._stats.sent(now)
            if len(self._requests) >= self.max_in_flight:
                self._stats.completed(now, "failed", reason=SATURATED)
                return
        task = asyncio.create_task(self._request(work_ms))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _request(self, work_ms: float) -> None:
        address = self._next_address()
        started = time.monotonic()
        if address is None:
            self._completed("failed", reason="nothing registered to send to")
            return
        try:
            async with self._session.get(
                f"http://{address}/work?ms={work_ms:.1f}",
                headers=self._lab_client,  # may ask for more than a learner's tab
                timeout=_REQUEST_TIMEOUT,
            ) as response:
                node = response.headers.get(NODE_HEADER, NO_NODE)
                body = await response.read()
        except TimeoutError:
            self._completed("failed", reason="timeout")
            return
        except aiohttp.ClientError:
            self._completed("failed", reason="connection error")
            return
        outcome, reason = classify(response.status, body)
        latency_ms = (time.monotonic() - started) * 1000
        self._completed(
            outcome, node="" if node == NO_NODE else node, latency_ms=latency_ms, reason=reason
        )

    def _completed(self, outcome: Outcome, **details: Any) -> None:
        with self._lock:
            self._stats.completed(time.monotonic(), outcome, **details)

    def _next_address(self) -> str | None:
        addresses = self.target.addresses
        if not addresses:
            return None
        return addresses[next(self._turn) % len(addresses)]

    # --- WebSockets --------------------------------------------------------------

    def _resize_pool(self) -> None:
        if self._session is None:
            return  # not started: start() sizes the pool
        wanted = self.settings.ws_clients
        while len(self._holders) < wanted:
            self._holders.append(asyncio.create_task(self._hold(next(self._holder_ids))))
        while len(self._holders) > wanted:
            self._holders.pop().cancel()

    async def _hold(self, holder: int) -> None:
        """Keep one WebSocket open, reconnecting with backoff whenever it drops."""
        failures = 0
        try:
            while True:
                opened = await self._hold_once(holder)
                failures = 1 if opened else failures + 1
                await asyncio.sleep(reconnect_delay_s(failures))
        finally:
            with self._lock:
                self._ws_nodes.pop(holder, None)

    async def _hold_once(self, holder: int) -> bool:
        """Connect, learn the node from its hello, and wait until the socket closes.

        True if the socket was open (so the next attempt starts with the shortest delay).
        """
        address = self._next_address()
        if address is None:
            return False
        opened = False
        try:
            async with self._session.ws_connect(
                f"ws://{address}/ws/hold/", heartbeat=WS_HEARTBEAT_S, headers=self._lab_client
            ) as ws:
                hello = await ws.receive_json(timeout=HELLO_TIMEOUT_S)
                with self._lock:
                    self._ws_nodes[holder] = str(hello.get("node", "unknown"))
                opened = True
                async for _message in ws:
                    pass  # the node only speaks when spoken to; we wait for the close
        except (aiohttp.ClientError, TimeoutError, TypeError, ValueError, AttributeError) as exc:
            log.debug("WebSocket %d to %s: %s", holder, address, exc)
        with self._lock:
            self._ws_nodes.pop(holder, None)
        return opened
