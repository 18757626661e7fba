"""Which HTTP work a node takes on: a concurrency limit and a waiting room, each policy a
small pure class chosen by name and switchable live (issue 12), like the LB's algorithms.

- `none`: the limiter off: `capacity` at once and an unbounded FIFO queue with no timeout,
  so every request is served at last, however late (what collapses goodput past capacity).
- `fixed`: HAProxy's `maxconn` with `timeout queue`: a fixed limit, a bounded FIFO queue,
  a fixed time a request may wait in it.
- `codel`: Facebook's "Fail at Scale" (2015): the time a new request may wait is long
  (the interval) while the queue has been empty within the last interval, and short (the
  target) once it has stood for a whole interval; a standing queue is served newest first
  (adaptive LIFO), because the newest requests' clients are the ones still waiting.
- `aimd`: Netflix concurrency-limits' AIMDLimit: the limit grows by one while more than
  half of it is in use, and is cut by a tenth on a drop or a round trip over the timeout.
- `gradient`: Netflix's Gradient2Limit: the limit follows long-term RTT / latest RTT
  (clamped to 0.5..1), plus a fixed queue allowance, smoothed; a long RTT far above the
  short one is pulled down so the limit recovers after a spell of overload.
  The adaptive two queue nothing: over the limit is a refusal at once, as in Netflix's.

Time comes in as `now_ms`; nothing here does I/O. `WaitingRoom` applies a policy to
arrivals, finishes and timeouts; node/work.py turns its verdicts into awaits.
"""

import math
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar, Literal

Verdict = Literal["start", "wait", "reject"]


@dataclass(frozen=True)
class Completion:
    """One finished request, as the adaptive limits learn from it."""

    rtt_ms: float  # from its start (after any wait) to its answer
    in_flight: int  # working when it finished, itself included
    dropped: bool = False  # it failed or overran its deadline


class Policy:
    """The limit and the queue's rules; subclasses adapt them from completions."""

    name: ClassVar[str]

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)

    def limit(self) -> int:
        return self.capacity

    def queue_size(self) -> int:
        return 0

    def queue_timeout_ms(self, standing_ms: float) -> float:
        """How long a request arriving now may wait; `standing_ms` is how long the queue
        has been non-empty (0 when it is empty)."""
        return 0.0

    def lifo(self, standing_ms: float) -> bool:
        return False

    def on_done(self, done: Completion) -> None:
        """Learn from a finished request (the fixed ones learn nothing)."""

    def describe(self) -> dict[str, float]:
        """What the page plots beside the limit."""
        return {}


class NoLimiter(Policy):
    name = "none"

    def queue_size(self) -> int:
        return 1 << 62  # unbounded: the limiter is off

    def queue_timeout_ms(self, standing_ms: float) -> float:
        return math.inf


class FixedLimit(Policy):
    name = "fixed"
    QUEUE_PER_CAPACITY = 2
    QUEUE_TIMEOUT_MS = 1000.0

    def queue_size(self) -> int:
        return self.capacity * self.QUEUE_PER_CAPACITY

    def queue_timeout_ms(self, standing_ms: float) -> float:
        return self.QUEUE_TIMEOUT_MS


class CoDelAdaptiveLifo(FixedLimit):
    name = "codel"
    TARGET_MS = 5.0
    INTERVAL_MS = 100.0

    def _congested(self, standing_ms: float) -> bool:
        return standing_ms >= self.INTERVAL_MS

    def queue_timeout_ms(self, standing_ms: float) -> float:
        return self.TARGET_MS if self._congested(standing_ms) else self.INTERVAL_MS

    def lifo(self, standing_ms: float) -> bool:
        return self._congested(standing_ms)


class AimdLimit(Policy):
    name = "aimd"
    BACKOFF_RATIO = 0.9
    TIMEOUT_MS = 500.0  # a round trip over this counts as a drop
    MAX_PER_CAPACITY = 4

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self._limit = self.capacity

    def limit(self) -> int:
        return self._limit

    def on_done(self, done: Completion) -> None:
        if done.dropped or done.rtt_ms > self.TIMEOUT_MS:
            self._limit = max(1, min(self._limit - 1, int(self._limit * self.BACKOFF_RATIO)))
        elif done.in_flight * 2 >= self._limit:
            self._limit = min(self._limit + 1, self.capacity * self.MAX_PER_CAPACITY)

    def describe(self) -> dict[str, float]:
        return {"rtt_timeout_ms": self.TIMEOUT_MS}


@dataclass
class ExpAverage:
    """Netflix's ExpAvgMeasurement: a plain mean of the first `warmup` samples, then an
    exponential average over about `window` samples."""

    window: int
    warmup: int = 10
    value: float = 0.0
    count: int = field(default=0)

    def add(self, sample: float) -> float:
        if self.count < self.warmup:
            self.count += 1
            self.value += (sample - self.value) / self.count
        else:
            factor = 2.0 / (self.window + 1)
            self.value = self.value * (1 - factor) + sample * factor
        return self.value


class GradientLimit(Policy):
    name = "gradient"
    SMOOTHING = 0.2
    LONG_WINDOW = 600
    QUEUE_ALLOWANCE = 4
    MAX_PER_CAPACITY = 4

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self._estimate = float(self.capacity)
        self._long = ExpAverage(self.LONG_WINDOW)
        self._short_ms = 0.0

    def limit(self) -> int:
        return int(self._estimate)

    def on_done(self, done: Completion) -> None:
        short = max(done.rtt_ms, 0.001)
        long = self._long.add(short)
        self._short_ms = short
        if long / short > 2:  # back from overload: do not wait for the average to decay
            self._long.value = long * 0.9
        if done.in_flight < self._estimate / 2:
            return  # app-limited: the RTT says nothing about the limit
        gradient = max(0.5, min(1.0, long / short))
        target = self._estimate * gradient + self.QUEUE_ALLOWANCE
        smoothed = self._estimate * (1 - self.SMOOTHING) + target * self.SMOOTHING
        self._estimate = max(1.0, min(float(self.capacity * self.MAX_PER_CAPACITY), smoothed))

    def describe(self) -> dict[str, float]:
        return {"long_rtt_ms": round(self._long.value, 3), "short_rtt_ms": round(self._short_ms, 3)}


POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (NoLimiter, FixedLimit, CoDelAdaptiveLifo, AimdLimit, GradientLimit)
}


class UnknownPolicy(ValueError):
    """No admission policy has that name."""


def make_policy(name: str, capacity: int) -> Policy:
    try:
        return POLICIES[name](capacity)
    except KeyError:
        raise UnknownPolicy(
            f"unknown admission policy {name!r}; use one of {sorted(POLICIES)}"
        ) from None


@dataclass(frozen=True)
class Waiter:
    id: int
    arrived_ms: float
    deadline_ms: float


@dataclass(frozen=True)
class Turns:
    """What a change let happen: waiters that may start now, and waiters that timed out."""

    started: tuple[Waiter, ...] = ()
    expired: tuple[Waiter, ...] = ()


class WaitingRoom:
    """A policy applied: who starts, who waits, who is refused or times out."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.in_flight = 0
        self._waiting: deque[Waiter] = deque()
        self._standing_since: float | None = None  # when the queue last became non-empty

    @property
    def queued(self) -> int:
        return len(self._waiting)

    def standing_ms(self, now_ms: float) -> float:
        return 0.0 if self._standing_since is None else now_ms - self._standing_since

    def arrive(self, waiter_id: int, now_ms: float) -> Verdict:
        if not self._waiting and self.in_flight < self.policy.limit():
            self.in_flight += 1
            return "start"
        if len(self._waiting) >= self.policy.queue_size():
            return "reject"
        timeout = self.policy.queue_timeout_ms(self.standing_ms(now_ms))
        self._waiting.append(Waiter(waiter_id, now_ms, now_ms + timeout))
        if self._standing_since is None:
            self._standing_since = now_ms
        return "wait"

    def finish(self, done: Completion, now_ms: float) -> Turns:
        """A started request ended: free its slot, learn from it, let others in."""
        self.in_flight = max(0, self.in_flight - 1)
        self.policy.on_done(done)
        return self.turns(now_ms)

    def release(self, now_ms: float) -> Turns:
        """A started request ended without an answer worth learning from (its client went
        away as it started): free its slot only."""
        self.in_flight = max(0, self.in_flight - 1)
        return self.turns(now_ms)

    def leave(self, waiter_id: int, now_ms: float) -> None:
        """A waiter gave up (its client went away) before its turn."""
        self._waiting = deque(w for w in self._waiting if w.id != waiter_id)
        self._note_if_empty()

    def turns(self, now_ms: float) -> Turns:
        """Time out the overdue, then start as many as the limit allows."""
        expired = tuple(w for w in self._waiting if w.deadline_ms <= now_ms)
        if expired:
            self._waiting = deque(w for w in self._waiting if w.deadline_ms > now_ms)
        started = []
        while self._waiting and self.in_flight < self.policy.limit():
            lifo = self.policy.lifo(self.standing_ms(now_ms))
            started.append(self._waiting.pop() if lifo else self._waiting.popleft())
            self.in_flight += 1
        self._note_if_empty()
        return Turns(tuple(started), expired)

    def next_deadline_ms(self) -> float | None:
        """When the next waiter times out, for the caller's timer."""
        deadlines = (w.deadline_ms for w in self._waiting if w.deadline_ms != math.inf)
        return min(deadlines, default=None)

    def _note_if_empty(self) -> None:
        if not self._waiting:
            self._standing_since = None
