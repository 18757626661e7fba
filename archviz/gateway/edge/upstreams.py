"""The service replicas a gateway replica sends requests to: found in the registry (only
those `registry.trusted` vouches for), re-read about every 0.5 s off the event loop, picked
round robin over the healthy ones. A replica that refuses a connection is skipped for a
while (SKIP_S, the registry's TTL: by then a dead one has left the registry).

ReplicaSet is the pure part; Upstreams reads the registry.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import redis

from archviz.core import registry
from archviz.core.redis_conn import shared_client
from archviz.core.registry import Registration

log = logging.getLogger(__name__)

KINDS = ("auth", "catalog", "bidding")  # the kinds the services' commands register as
REFRESH_S = 0.5
SKIP_S = registry.TTL_MS / 1000

Identity = tuple[str, str, int, int]  # id, host, port, pid: a restarted replica is another


def identity(replica: Registration) -> Identity:
    return (replica.id, replica.host, replica.port, replica.pid)


class ReplicaSet:
    """One service's replicas, and which are skipped until when (monotonic seconds)."""

    def __init__(self, skip_s: float = SKIP_S) -> None:
        self.skip_s = skip_s
        self.replicas: list[Registration] = []
        self._skipped: dict[Identity, float] = {}
        self._turn = 0

    def replace(self, found: Iterable[Registration]) -> None:
        """The registry's current list; skips are kept for the replicas still in it."""
        self.replicas = sorted(found, key=lambda r: r.id)
        alive = {identity(r) for r in self.replicas}
        self._skipped = {k: until for k, until in self._skipped.items() if k in alive}

    def healthy(self, now: float) -> list[Registration]:
        return [r for r in self.replicas if self._skipped.get(identity(r), 0.0) <= now]

    def pick(self, now: float, exclude: Iterable[str] = ()) -> Registration | None:
        """The next healthy replica in turn, leaving out the ids in `exclude`; None when no
        healthy one is left."""
        left_out = set(exclude)
        candidates = [r for r in self.healthy(now) if r.id not in left_out]
        if not candidates:
            return None
        self._turn += 1
        return candidates[self._turn % len(candidates)]

    def refused(self, replica: Registration, now: float) -> None:
        """It refused a connection (or said it is unavailable): skip it for a while."""
        self._skipped[identity(replica)] = now + self.skip_s


Source = Callable[[str], list[Registration]]


def trusted_replicas(kind: str) -> list[Registration]:
    """The registry's vouched-for replicas of a kind (blocking: run it off the loop)."""
    return registry.trusted(shared_client(), kind)


class Upstreams:
    """Every service's ReplicaSet, refreshed from `source` (the registry by default)."""

    def __init__(
        self,
        source: Source = trusted_replicas,
        kinds: Iterable[str] = KINDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._clock = clock
        self.sets = {kind: ReplicaSet() for kind in kinds}
        self.refreshed = asyncio.Event()  # set after the first good read
        self._failing = False
        self._listeners: list[Callable[[dict[str, list[Registration]]], None]] = []

    def on_change(self, listener: Callable[[dict[str, list[Registration]]], None]) -> None:
        """Call `listener` with every kind's replicas after each refresh."""
        self._listeners.append(listener)

    def pick(self, kind: str, exclude: Iterable[str] = ()) -> Registration | None:
        return self.sets[kind].pick(self._clock(), exclude)

    def refused(self, kind: str, replica: Registration) -> None:
        self.sets[kind].refused(replica, self._clock())

    def healthy(self, kind: str) -> list[Registration]:
        return self.sets[kind].healthy(self._clock())

    async def refresh(self) -> bool:
        """Re-read every kind off the event loop; on a failure the last lists are kept."""
        try:
            found = await asyncio.to_thread(self._read_all)
        except redis.RedisError as exc:
            if not self._failing:
                log.warning("gateway: cannot read the registry (keeping the last lists): %s", exc)
            self._failing = True
            return False
        self._failing = False
        for kind, replicas in found.items():
            self.sets[kind].replace(replicas)
        for listener in self._listeners:
            listener(found)
        self.refreshed.set()
        return True

    def _read_all(self) -> dict[str, list[Registration]]:
        return {kind: self._source(kind) for kind in self.sets}

    async def run(self, stop: asyncio.Event, interval_s: float = REFRESH_S) -> None:
        """Refresh every `interval_s` until `stop` is set."""
        while not stop.is_set():
            await self.refresh()
            try:
                async with asyncio.timeout(interval_s):
                    await stop.wait()
            except TimeoutError:
                pass
