"""Traffic arithmetic, without I/O: when requests arrive, how much work each asks for,
and what the last few seconds of answers looked like.
"""

import math
import random
from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal, TypedDict

WINDOW_S = 5.0

Outcome = Literal["ok", "queued", "rejected", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "queued", "rejected", "failed")
TIMED_OUTCOMES = frozenset({"ok", "queued"})  # requests a node worked on: they have a latency


def next_interval_s(rng: random.Random, rate: float) -> float:
    """Seconds until the next arrival of a Poisson process of `rate` arrivals per second."""
    if rate <= 0:
        raise ValueError(f"a Poisson process needs a positive rate, not {rate!r}")
    return rng.expovariate(rate)


def sample_work_ms(
    rng: random.Random, mean_ms: float, sd_ms: float, *, cap_ms: float = math.inf
) -> float:
    """The work one request asks for: normal(mean, sd), clipped to [0, cap_ms]."""
    sample = rng.gauss(mean_ms, sd_ms) if sd_ms > 0 else float(mean_ms)
    return min(max(0.0, sample), cap_ms)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of ascending values: at least q% of them are at or below it.

    0.0 when there are no values, so that a snapshot never holds a null.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is from 0 to 100, not {q!r}")
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values) / 100))
    return float(sorted_values[rank - 1])


def reconnect_delay_s(attempt: int, *, base_s: float = 0.25, cap_s: float = 5.0) -> float:
    """Exponential backoff before reconnect number `attempt` (1, 2, …), capped."""
    return min(base_s * 2 ** max(attempt - 1, 0), cap_s)


class LatencyPercentiles(TypedDict):
    p50: float
    p95: float
    p99: float


class WindowSnapshot(TypedDict):
    window_s: float
    sent: int
    ok: int
    queued: int
    rejected: int
    failed: int
    per_node: dict[str, int]  # answered requests by the node that answered
    latency_ms: LatencyPercentiles  # of the requests a node worked on (ok and queued)
    failures: dict[str, int]  # failed requests by reason


@dataclass(frozen=True)
class Completion:
    at: float  # monotonic seconds
    outcome: Outcome
    node: str  # who answered; "" when nobody did
    latency_ms: float
    reason: str  # why it failed; "" otherwise


class WindowStats:
    """Counts of what was sent and how it ended, over the last `window_s` seconds.

    Times are the caller's clock (monotonic seconds); a request counts as sent when it
    left and as an outcome when its answer (or failure) came back.
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        if window_s <= 0:
            raise ValueError("the window must be positive")
        self.window_s = window_s
        self._sent: deque[float] = deque()
        self._completions: deque[Completion] = deque()

    def sent(self, at: float) -> None:
        self._sent.append(at)

    def completed(
        self,
        at: float,
        outcome: Outcome,
        *,
        node: str = "",
        latency_ms: float = 0.0,
        reason: str = "",
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self._completions.append(Completion(at, outcome, node, latency_ms, reason))

    def snapshot(self, now: float) -> WindowSnapshot:
        """The window ending at `now`; older samples are dropped for good."""
        self._drop_before(now - self.window_s)
        outcomes = Counter(c.outcome for c in self._completions)
        latencies = sorted(c.latency_ms for c in self._completions if c.outcome in TIMED_OUTCOMES)
        return WindowSnapshot(
            window_s=self.window_s,
            sent=len(self._sent),
            ok=outcomes["ok"],
            queued=outcomes["queued"],
            rejected=outcomes["rejected"],
            failed=outcomes["failed"],
            per_node=dict(sorted(Counter(c.node for c in self._completions if c.node).items())),
            latency_ms=LatencyPercentiles(
                p50=round(percentile(latencies, 50), 3),
                p95=round(percentile(latencies, 95), 3),
                p99=round(percentile(latencies, 99), 3),
            ),
            failures=dict(Counter(c.reason for c in self._completions if c.outcome == "failed")),
        )

    def latency_sample(self, limit: int = 300) -> list[float]:
        """The latest latencies of the window (call after snapshot), for a distribution."""
        timed = [c.latency_ms for c in self._completions if c.outcome in TIMED_OUTCOMES]
        return [round(ms, 1) for ms in timed[-limit:]]

    def _drop_before(self, cutoff: float) -> None:
        while self._sent and self._sent[0] <= cutoff:
            self._sent.popleft()
        while self._completions and self._completions[0].at <= cutoff:
            self._completions.popleft()
