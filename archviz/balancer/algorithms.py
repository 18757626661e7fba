"""Load-balancing strategies: one small class per algorithm, chosen by name, without I/O.

Every strategy answers `pick(backends, key=, stats=, now=)` with the backend it chose and a
sentence saying why, for the trace. Time comes in as `now`, randomness from an injected
`random.Random`, so each strategy is deterministic under test.
"""

import bisect
import hashlib
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REASON_LIMIT = 120
KEY_SHOWN = 16  # a session cookie is a secret: reasons show only its start


@dataclass(frozen=True)
class Backend:
    """A healthy server the balancer may send a request to."""

    id: str
    weight: int = 1

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("Backend id must not be empty")
        if self.weight < 1:
            raise ValueError(f"Backend {self.id}: weight must be at least 1, got {self.weight}")


@dataclass(frozen=True)
class BackendStats:
    """What the balancer knows about a backend's load right now."""

    in_flight: int = 0
    ewma_ms: float = 0.0
    connections: int = 0


@dataclass(frozen=True)
class Pick:
    """The chosen backend and, in words, why."""

    backend_id: str
    reason: str


class NoBackend(LookupError):
    """There was no backend to choose from."""


class UnknownAlgorithm(ValueError):
    """No strategy has that name."""


Stats = Mapping[str, BackendStats]
Chosen = tuple[Backend, str]  # the backend and the full reason sentence

_NO_STATS = BackendStats()


def _clip(text: str) -> str:
    """Keep a reason short enough for one line of the trace log."""
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def _shown_key(key: str) -> str:
    return key if len(key) <= KEY_SHOWN else key[:KEY_SHOWN] + "…"


class _Turn:
    """Remembers the last pick so "next in turn" survives backends coming and going."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._position = 0

    def order(self, backends: Sequence[Backend]) -> list[Backend]:
        """The backends in turn order, starting with the one after the last pick."""
        ids = [backend.id for backend in backends]
        # When the last pick has gone, whoever slid into its place is next.
        start = ids.index(self.last_id) + 1 if self.last_id in ids else self._position
        start %= len(backends)
        return [*backends[start:], *backends[:start]]

    def took(self, chosen: Backend, backends: Sequence[Backend]) -> None:
        self.last_id = chosen.id
        self._position = list(backends).index(chosen)

    def next(self, backends: Sequence[Backend]) -> Backend:
        """The backend after the last pick, now taken."""
        chosen = self.order(backends)[0]
        self.took(chosen, backends)
        return chosen

    def lowest(self, backends: Sequence[Backend], score: Callable[[Backend], float]) -> Backend:
        """The lowest-scoring backend; ties go to whichever is next in turn, to spread load."""
        best = min(score(b) for b in backends)
        chosen = next(b for b in self.order(backends) if score(b) == best)
        self.took(chosen, backends)
        return chosen


class Balancer:
    """A load-balancing strategy; subclasses implement `_choose`."""

    name = ""
    # What `_choose` looks at, so that a caller gathers only that for each request.
    uses_key = False
    uses_stats = False

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self.rng = rng if rng is not None else random.Random()
        self._turn = _Turn()

    def pick(
        self,
        backends: Sequence[Backend],
        *,
        key: str | None = None,
        stats: Mapping[str, BackendStats] | None = None,
        now: float = 0.0,
    ) -> Pick:
        """Choose one of the given healthy backends."""
        if not backends:
            raise NoBackend(f"{self.name}: no healthy backend to send the request to")
        chosen, reason = self._choose(list(backends), key, stats or {}, now)
        return Pick(chosen.id, _clip(reason))

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        raise NotImplementedError


class RoundRobin(Balancer):
    """Each backend in turn."""

    name = "round_robin"

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        previous = self._turn.last_id
        chosen = self._turn.next(backends)
        if previous is None:
            return chosen, f"round robin: starting with {chosen.id}"
        gone = "" if any(b.id == previous for b in backends) else " (gone)"
        return chosen, f"round robin: {chosen.id} is next in turn after {previous}{gone}"


class WeightedRoundRobin(Balancer):
    """Smooth weighted round robin (nginx): heavier backends more often, never in long runs."""

    name = "weighted_round_robin"

    def __init__(self, *, rng: random.Random | None = None) -> None:
        super().__init__(rng=rng)
        self._current: dict[str, int] = {}

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        # A new backend starts at 0 like nginx's: it climbs by its weight each round, so it
        # is picked within a cycle; a gone backend's score is forgotten.
        self._current = {b.id: self._current.get(b.id, 0) + b.weight for b in backends}
        total = sum(b.weight for b in backends)
        chosen = max(backends, key=lambda b: self._current[b.id])
        self._current[chosen.id] -= total
        return chosen, f"weighted: {chosen.id} has weight {chosen.weight} of {total}"


class LeastConnections(Balancer):
    """The backend with the fewest requests in flight plus open WebSockets."""

    name = "least_connections"
    uses_stats = True

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        def load(backend: Backend) -> int:
            current = stats.get(backend.id, _NO_STATS)
            return current.in_flight + current.connections

        chosen = self._turn.lowest(backends, load)
        tied = " (tied, its turn)" if sum(load(b) == load(chosen) for b in backends) > 1 else ""
        others = sorted((b for b in backends if b is not chosen), key=load)
        counts = [f"{chosen.id} had {load(chosen)}{tied}"]
        counts += [f"{b.id} had {load(b)}" for b in others]
        return chosen, f"least connections: {', '.join(counts)}"


class LeastLatency(Balancer):
    """Peak EWMA: the lowest expected wait, latency estimate times requests queued ahead."""

    name = "least_latency"
    uses_stats = True

    def __init__(self, *, rng: random.Random | None = None, default_ms: float = 1.0) -> None:
        super().__init__(rng=rng)
        if default_ms <= 0:
            raise ValueError(f"default_ms must be positive, got {default_ms}")
        self.default_ms = default_ms

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        def expected(backend: Backend) -> float:
            current = stats.get(backend.id, _NO_STATS)
            # An unmeasured backend gets a small guess, so it is tried rather than shunned.
            latency = current.ewma_ms if current.ewma_ms > 0 else self.default_ms
            return latency * (current.in_flight + 1)

        chosen = self._turn.lowest(backends, expected)
        reason = f"peak EWMA: {chosen.id} expected {expected(chosen):.1f} ms (lowest)"
        runners_up = sorted((b for b in backends if b is not chosen), key=expected)
        if runners_up:
            reason += f", next {runners_up[0].id} at {expected(runners_up[0]):.1f} ms"
        return chosen, reason


class RandomChoice(Balancer):
    """Any backend, by chance."""

    name = "random"

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        chosen = self.rng.choice(backends)
        return chosen, f"random: {chosen.id} by chance, 1 of {len(backends)}"


class PowerOfTwoChoices(Balancer):
    """Sample two backends at random and take the one with fewer requests in flight."""

    name = "power_of_two"
    uses_stats = True

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        if len(backends) == 1:
            return backends[0], f"power of two choices: {backends[0].id} is the only one up"
        first, second = self.rng.sample(backends, 2)
        a = stats.get(first.id, _NO_STATS).in_flight
        b = stats.get(second.id, _NO_STATS).in_flight
        chosen = second if b < a else first
        return chosen, (
            f"power of two choices: sampled {first.id} ({a} in flight) and {second.id} ({b}),"
            f" took {chosen.id}"
        )


class ConsistentHash(Balancer):
    """A hash ring with virtual nodes: the same key goes to the same backend."""

    name = "consistent_hash"
    uses_key = True

    def __init__(self, *, rng: random.Random | None = None, replicas: int = 100) -> None:
        super().__init__(rng=rng)
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {replicas}")
        self.replicas = replicas
        self._ring_of: frozenset[tuple[str, int]] = frozenset()
        self._points: list[int] = []
        self._owners: list[str] = []

    def _choose(self, backends: list[Backend], key: str | None, stats: Stats, now: float) -> Chosen:
        if key is None:
            chosen = self._turn.next(backends)
            return chosen, f"consistent hash: no key to hash, so round robin chose {chosen.id}"
        self._build_ring(backends)
        index = bisect.bisect(self._points, _stable_hash(key)) % len(self._points)
        chosen = next(b for b in backends if b.id == self._owners[index])
        return chosen, f"consistent hash of {_shown_key(key)} → {chosen.id}"

    def _build_ring(self, backends: Sequence[Backend]) -> None:
        """Rebuild the ring only when the set of backends or their weights changed."""
        members = frozenset((b.id, b.weight) for b in backends)
        if members == self._ring_of:
            return
        ring = sorted(
            (_stable_hash(f"{backend_id}#{i}"), backend_id)
            for backend_id, weight in members
            for i in range(self.replicas * weight)
        )
        self._ring_of = members
        self._points = [point for point, _ in ring]
        self._owners = [owner for _, owner in ring]


def _stable_hash(text: str) -> int:
    """The same number in every process, unlike the salted built-in `hash()`."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


ALGORITHMS: dict[str, type[Balancer]] = {
    cls.name: cls
    for cls in (
        RoundRobin,
        WeightedRoundRobin,
        LeastConnections,
        LeastLatency,
        RandomChoice,
        PowerOfTwoChoices,
        ConsistentHash,
    )
}
NAMES: tuple[str, ...] = tuple(ALGORITHMS)


def make_balancer(name: str, **options: Any) -> Balancer:
    """The strategy called `name`, built with its options (e.g. `rng`, `replicas`)."""
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise UnknownAlgorithm(
            f"unknown load-balancing algorithm {name!r}; choose one of: {', '.join(NAMES)}"
        ) from None
    return cls(**options)


class EwmaTracker:
    """Peak EWMA latency per backend: jumps up on a slow sample, decays over `tau_s` seconds.

    Like Finagle's and linkerd's, the estimate also fades towards zero while a backend goes
    unmeasured, so one slow moment does not shut a backend out for good: it is tried again.
    """

    def __init__(self, *, tau_s: float = 10.0) -> None:
        if tau_s <= 0:
            raise ValueError(f"tau_s must be positive, got {tau_s}")
        self.tau_s = tau_s
        self._latest: dict[str, tuple[float, float]] = {}  # id -> (estimate ms, at)

    def observe(self, backend_id: str, latency_ms: float, now: float) -> float:
        """Fold in one measured latency; returns the new estimate."""
        if latency_ms < 0 or math.isnan(latency_ms):
            raise ValueError(f"{backend_id}: latency must be a non-negative number")
        current = self.estimate(backend_id, now)
        if backend_id not in self._latest or latency_ms > current:
            estimate = latency_ms  # the "peak": react to slowness at once
        else:
            estimate = current + latency_ms * (1 - self._decay(backend_id, now))
        self._latest[backend_id] = (estimate, now)
        return estimate

    def estimate(self, backend_id: str, now: float) -> float:
        """The latency expected now; 0.0 when never measured, fading while unobserved."""
        if backend_id not in self._latest:
            return 0.0
        return self._latest[backend_id][0] * self._decay(backend_id, now)

    def forget(self, backend_id: str) -> None:
        """Drop a backend that left."""
        self._latest.pop(backend_id, None)

    def _decay(self, backend_id: str, now: float) -> float:
        elapsed = max(0.0, now - self._latest[backend_id][1])
        return math.exp(-elapsed / self.tau_s)
