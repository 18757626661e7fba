"""The overload demo's WebSocket clients (issue 12): up to MAX_CLIENTS real sockets held open
on the nodes' /ws/hold/, through the load balancer or straight at one node ("flood node-2"),
each reconnecting by the lab-wide policy after a refusal, a shed or a drop.

`manage.py overloadclients` runs a ClientFleet; the `overload.clients` control command
(overload/control.py) sets how many clients it holds, where, and for how long (a flood ends
by itself).
"""

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import aiohttp

from archviz.core.control import NODE_ID
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.core.reconnect import DEFAULT_POLICY, ReconnectPolicy
from archviz.overload.control import LB, MAX_CLIENTS
from archviz.overload.reconnect import Decision, next_reconnect

log = logging.getLogger(__name__)

# Handshakes are paced so that this process is never the bottleneck: new clients at most
# OPENS_PER_S (a count of 2,000 opens over 10 s), reconnects at most RECONNECTS_PER_S, well
# above it, since a herd of reconnects after a shed is the lesson and must reach the node.
OPENS_PER_S = 200
RECONNECTS_PER_S = 1000
HANDSHAKE_TIMEOUT_S = 10.0  # a node too busy to answer must not hold a client for ever
NO_TARGET_RETRY_S = 0.5  # the target is not (or no longer) registered: look again soon
HOLD_PATH = "/ws/hold/?client=bot"  # `client=bot`: shed these first (they claim no more)

State = Literal["connecting", "open", "waiting"]
Closed = tuple[int | None, str | None]  # a socket's close code, and the last text it got


# --- pacing ------------------------------------------------------------------------------


class Pacer:
    """Hands out handshake slots at most `per_second` apart, in the order asked: a herd of
    clients that want to connect at once is spread instead of refused."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second
        self.clock = clock
        self._next = 0.0

    def slot(self) -> float:
        """How long from now the caller's handshake may start (pure but for the clock)."""
        now = self.clock()
        start = max(now, self._next)
        self._next = start + self.interval
        return start - now

    async def turn(self) -> None:
        wait = self.slot()
        if wait > 0:
            await asyncio.sleep(wait)


# --- the counters ------------------------------------------------------------------------


@dataclass
class Totals:
    """What every client adds to, reported in the heartbeat."""

    handshakes: int = 0  # WebSocket upgrades that succeeded
    failed_connects: int = 0  # refused or timed out before the upgrade
    refused: int = 0  # closed with 4013
    shed: int = 0  # closed with 4014
    dropped: int = 0  # closed any other way, once open
    reconnects: int = 0
    last_error: str = ""

    def count_close(self, decision: Decision) -> None:
        if decision.reason == "refused":
            self.refused += 1
        elif decision.reason == "shed":
            self.shed += 1
        else:
            self.dropped += 1


# --- one client --------------------------------------------------------------------------


class HoldClient:
    """One socket held on a node, reconnected for ever (until cancelled)."""

    def __init__(self, fleet: "ClientFleet", rng: random.Random) -> None:
        self.fleet = fleet
        self.rng = rng
        self.state: State = "waiting"
        self.node: str | None = None  # from the node's hello
        self.attempt = 0  # failures since the last hello
        self.tried = False  # once it has tried, every later handshake is a reconnect

    async def run(self, session: aiohttp.ClientSession) -> None:
        while True:
            url = self.fleet.url()
            if url is None:
                self.state = "waiting"
                await asyncio.sleep(NO_TARGET_RETRY_S)
                continue
            await (self.fleet.reconnect_pacer if self.tried else self.fleet.open_pacer).turn()
            closed = await self._hold(session, url)
            code, last = closed or (None, None)
            decision = next_reconnect(code, last, self.attempt, self.fleet.policy, self.rng)
            if closed is not None:  # a failed connect is counted as one, not as a close
                self.fleet.totals.count_close(decision)
            self.attempt += 1
            await asyncio.sleep(decision.delay_ms / 1000)
            self.fleet.totals.reconnects += 1

    async def _hold(self, session: aiohttp.ClientSession, url: str) -> Closed | None:
        """Connect and read until the socket closes: its close code and the last text; None
        when it did not connect."""
        self.state, self.tried = "connecting", True
        last: str | None = None
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the task's
            # cancellation when the connect finishes at that instant, and the client then
            # lives on after the fleet let it go (a hang of the fleet's close)
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                ws = await session.ws_connect(url, headers=self.fleet.headers, heartbeat=None)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            self.fleet.totals.failed_connects += 1
            self.fleet.totals.last_error = f"{url}: {exc!r}"[:200]
            self.state = "waiting"
            return None
        self.fleet.totals.handshakes += 1
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    last = message.data
                    self._on_text(message.data)
        except (aiohttp.ClientError, OSError) as exc:
            self.fleet.totals.last_error = f"{url}: {exc!r}"[:200]
        finally:
            self.state, self.node = "waiting", None
            with contextlib.suppress(Exception):  # a dead connection cannot be closed nicely
                await ws.close()
        return ws.close_code, last

    def _on_text(self, data: str) -> None:
        node = hello_node(data)
        if node is not None:
            self.state, self.node, self.attempt = "open", node, 0


def hello_node(data: str) -> str | None:
    """The node id of a node's {"type": "hello", "node": id}; None for any other message."""
    if '"hello"' not in data:  # most frames are not: skip parsing them
        return None
    try:
        found = json.loads(data)
    except ValueError:
        return None
    node = found.get("node") if isinstance(found, dict) and found.get("type") == "hello" else None
    return node if isinstance(node, str) and NODE_ID.fullmatch(node) else None


class Rate:
    """Events per second between two readings of a running total (the heartbeat's)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: tuple[float, int] | None = None

    def per_second(self, total: int) -> float:
        now = self.clock()
        last, self._last = self._last, (now, total)
        if last is None or now <= last[0]:
            return 0.0
        return round((total - last[1]) / (now - last[0]), 1)


# --- the fleet ---------------------------------------------------------------------------


class ClientFleet:
    """Keeps `wanted` HoldClients open at `target` ("lb" or a node id)."""

    def __init__(self, addresses: Callable[[str], str | None], seed: int | None = None) -> None:
        self.addresses = addresses  # target -> "http://host:port", None when not known
        self.target = LB
        self.policy: ReconnectPolicy = DEFAULT_POLICY
        self.policy_problem = ""
        self.open_pacer = Pacer(OPENS_PER_S)
        self.reconnect_pacer = Pacer(RECONNECTS_PER_S)
        self.totals = Totals()
        self.headers = {LAB_CLIENT_HEADER: lab_client_token()}
        self.rng = random.Random(seed)
        self.clients: list[tuple[HoldClient, asyncio.Task]] = []
        self.ends_at: float | None = None  # monotonic: when the flood ends by itself
        self._ender: asyncio.Task | None = None
        self._closing: set[asyncio.Task] = set()  # cancelled, their sockets still closing
        # One session, no pool limit: aiohttp's default 100 would queue clients 101 and up.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    def url(self) -> str | None:
        base = self.addresses(self.target)
        return f"{base.replace('http', 'ws', 1)}{HOLD_PATH}" if base else None

    def apply(self, count: int, target: str, seconds: int) -> None:
        """Hold `count` clients at `target` for `seconds`, then none. A new target moves
        every client: each closes and reconnects there (paced)."""
        if target != self.target:
            self.resize(0)
            self.target = target
        self.resize(count)
        if self._ender is not None:
            self._ender.cancel()
        self._ender, self.ends_at = None, None
        if count:
            self.ends_at = time.monotonic() + seconds
            self._ender = asyncio.create_task(self._end_after(seconds))

    async def _end_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        log.info("overload clients: the flood's %s s are over: closing them", seconds)
        self.ends_at, self._ender = None, None
        self.resize(0)

    def resize(self, count: int) -> None:
        count = max(0, min(count, MAX_CLIENTS))
        while len(self.clients) < count:
            client = HoldClient(self, random.Random(self.rng.random()))
            self.clients.append((client, asyncio.create_task(client.run(self.session))))
        while len(self.clients) > count:
            _client, task = self.clients.pop()
            task.cancel()  # its socket closes as the task unwinds
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def snapshot(self) -> dict:
        """The heartbeat's view (called from the heartbeat thread: copies, no awaits)."""
        clients = [client for client, _task in list(self.clients)]
        nodes: dict[str, int] = {}
        states = {"open": 0, "connecting": 0, "waiting": 0}
        for client in clients:
            states[client.state] += 1
            if client.state == "open" and client.node:
                nodes[client.node] = nodes.get(client.node, 0) + 1
        t = self.totals
        left = None if self.ends_at is None else max(0.0, self.ends_at - time.monotonic())
        return {
            "wanted": len(clients), "target": self.target, "seconds_left": left,
            "open": states["open"], "connecting": states["connecting"],
            "waiting": states["waiting"], "nodes": nodes,
            "handshakes_total": t.handshakes, "failed_connects_total": t.failed_connects,
            "refused_total": t.refused, "shed_total": t.shed, "dropped_total": t.dropped,
            "reconnects_total": t.reconnects, "last_error": t.last_error,
            "policy": self.policy.as_dict(), "policy_problem": self.policy_problem,
        }  # fmt: skip

    async def close(self) -> None:
        """Every client closed, its socket too, and the session."""
        if self._ender is not None:
            self._ender.cancel()
        self.resize(0)
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self.session.close()
        await self.session.close()
