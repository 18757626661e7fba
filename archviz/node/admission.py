"""Which HTTP work a node takes on: a concurrency limit and a waiting room, each policy a
small pure class chosen by name and switchable live (issue 12), like the LB's algorithms.

- `none`: the limiter off: `capacity` at once and an unbounded FIFO queue with no timeout,
  so every request is served at last, however late (what collapses goodput past capacity).
- `fixed`: HAProxy's `maxconn` with `timeout queue`: a fixed limit, a bounded FIFO queue,
  a fixed time a request may wait in it.
- `codel`: Facebook's "Fail at Scale" (2015): the time a request may wait is long (the
  interval) while the node has caught up with its queue within the last interval, and
  short (the target) once the queue has stood a whole interval; a standing queue is served
  newest first (adaptive LIFO), because the newest requests' clients are the ones still
  waiting. The rule applies to every waiter as it stands now, not as it stood when the
  waiter arrived, so a queue that starts to stand sheds its old waiters at once.
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
        """How long a waiter may wait, judged now; `standing_ms` is how long the queue has
        stood: since a request last had to wait with no slot free that the node has not
        since caught up (its queue empty and a slot free again). 0 when it has."""
        return 0.0

    def rule_changes_at_ms(self) -> float | None:
        """The standing time at which queue_timeout_ms changes, if it does (a timer must
        wake then: the waiters' time limits change with it)."""
        return None

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
    """Facebook's M and N, measured against the node's own round trips: their 5 ms and
    100 ms suit servers that answer in a few ms and free a slot every few microseconds. A
    lab node answers in tens of ms and frees a slot every few ms, so a 5 ms wait would
    leave its slots idle and a 100 ms allowance would queue a burst for several of its
    round trips."""

    name = "codel"
    TARGET_MS = 5.0  # Facebook's M: the least wait a standing queue allows
    INTERVAL_MS = 50.0  # the least time a queue may stand before it counts as standing
    RTT_WINDOW = 100

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self._rtt = ExpAverage(self.RTT_WINDOW)

    def target_ms(self) -> float:
        """The wait a standing queue allows: twice the time between two slots freeing (the
        mean round trip over the limit), so a waiter is still there when the next frees."""
        return max(self.TARGET_MS, 2 * self._rtt.value / self.limit())

    def interval_ms(self) -> float:
        """How long a queue may stand before it counts as standing: one round trip (a
        burst the slots clear within one is not a standing queue)."""
        return max(self.INTERVAL_MS, self._rtt.value, self.target_ms())

    def _congested(self, standing_ms: float) -> bool:
        return standing_ms >= self.interval_ms()

    def queue_timeout_ms(self, standing_ms: float) -> float:
        return self.target_ms() if self._congested(standing_ms) else self.interval_ms()

    def rule_changes_at_ms(self) -> float | None:
        return self.interval_ms()

    def lifo(self, standing_ms: float) -> bool:
        return self._congested(standing_ms)

    def on_done(self, done: Completion) -> None:
        if not done.dropped:
            self._rtt.add(done.rtt_ms)

    def describe(self) -> dict[str, float]:
        return {"target_ms": round(self.target_ms(), 3)}


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
        # since when the queue has stood: a waiter queued and the node has not caught up
        # since (waiters timing out empty the queue, but the node is no less behind)
        self._standing_since: float | None = None

    @property
    def queued(self) -> int:
        return len(self._waiting)

    def standing_ms(self, now_ms: float) -> float:
        return 0.0 if self._standing_since is None else now_ms - self._standing_since

    def deadline_ms(self, waiter: Waiter, now_ms: float) -> float:
        """When `waiter` times out, by the policy's rule as it stands at now_ms."""
        return waiter.arrived_ms + self.policy.queue_timeout_ms(self.standing_ms(now_ms))

    def arrive(self, waiter_id: int, now_ms: float) -> Verdict:
        if not self._waiting and self.in_flight < self.policy.limit():
            self.in_flight += 1
            return "start"
        if len(self._waiting) >= self.policy.queue_size():
            return "reject"
        self._waiting.append(Waiter(waiter_id, now_ms))
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
        self._note_if_caught_up()

    def turns(self, now_ms: float) -> Turns:
        """Time out the overdue, then start as many as the limit allows."""
        expired = tuple(w for w in self._waiting if self.deadline_ms(w, now_ms) <= now_ms)
        if expired:
            self._waiting = deque(w for w in self._waiting if w not in expired)
        started = []
        while self._waiting and self.in_flight < self.policy.limit():
            lifo = self.policy.lifo(self.standing_ms(now_ms))
            started.append(self._waiting.pop() if lifo else self._waiting.popleft())
            self.in_flight += 1
        self._note_if_caught_up()
        return Turns(tuple(started), expired)

    def next_deadline_ms(self, now_ms: float) -> float | None:
        """When turns() must next run for a timeout, for the caller's timer: the first
        waiter's deadline by the rule in force, or the moment the rule changes."""
        deadlines = [self.deadline_ms(w, now_ms) for w in self._waiting]
        changes_at = self.policy.rule_changes_at_ms()
        if self._waiting and changes_at is not None and self.standing_ms(now_ms) < changes_at:
            deadlines.append(self._standing_since + changes_at)
        return min((d for d in deadlines if d != math.inf), default=None)

    def _note_if_caught_up(self) -> None:
        if not self._waiting and self.in_flight < self.policy.limit():
            self._standing_since = None
