"""How loaded a node is, from real signals (issue 12): event-loop lag, the process's CPU and
resident memory, open WebSockets against the node's connection limit, and the bytes waiting
in its sockets' outgoing buffers. Each signal is
normalised against its limit (1.0 = at the limit) and the node's **pressure** is the highest
of them, so one saturated resource is enough to call the node overloaded.

Pure: `read_pressure` takes a `Sample` the node measured; `LagProbe` turns the wake-up times
of a periodic timer into lag (a timer due every 100 ms that fires 40 ms late means the loop
was busy for 40 ms: every request on it waited as long).
"""

from collections import deque
from dataclasses import dataclass

SAMPLE_EVERY_S = 0.1
LAG_WINDOW = 5  # the worst of the last half second: a heartbeat's worth of samples
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What counts as "at the limit" for each signal."""

    loop_lag_ms: float = 100.0  # a loop this late makes every answer this late
    cpu_percent: float = 90.0  # of one core: a Python process cannot use more
    rss_bytes: int = 512 * MIB
    websockets: int = 1000
    # bytes written to the node's sockets that their clients have not taken yet, all of
    # them together: slow readers hold the node's memory and its writes
    outgoing_bytes: int = 16 * MIB


@dataclass(frozen=True)
class Sample:
    loop_lag_ms: float
    cpu_percent: float
    rss_bytes: int
    websockets: int
    outgoing_bytes: int = 0


@dataclass(frozen=True)
class Pressure:
    value: float  # 0..1, the highest normalised signal
    dominant: str  # which signal it is
    normalised: dict[str, float]


def read_pressure(sample: Sample, limits: Limits) -> Pressure:
    """Each signal over its limit, clamped to 0..1, and the highest of them."""
    normalised = {
        name: round(min(1.0, max(0.0, getattr(sample, name) / max(getattr(limits, name), 1e-9))), 3)
        for name in Sample.__dataclass_fields__
    }
    dominant = max(normalised, key=normalised.__getitem__)
    return Pressure(normalised[dominant], dominant, normalised)


class RecentPeak:
    """The highest of the last few readings of a signal: a node at 100 % CPU that reads 70 %
    for one 100 ms sample (it shares two cores) stays over its threshold, so the balancer
    and the node's own admission do not flap between over and under."""

    def __init__(self, window: int = LAG_WINDOW) -> None:
        self._recent: deque[float] = deque(maxlen=window)

    def add(self, value: float) -> float:
        """Record a reading; the peak of the window, this one included."""
        self._recent.append(value)
        return max(self._recent)


class LagProbe:
    """Lag of a timer meant to fire every `interval_s`: how late each wake-up was, and the
    worst over the last few."""

    def __init__(self, interval_s: float = SAMPLE_EVERY_S, window: int = LAG_WINDOW) -> None:
        self.interval_s = interval_s
        self._due: float | None = None
        self._recent: deque[float] = deque(maxlen=window)
        self.wakeups = 0  # shows the probe is running

    def woke(self, now_s: float) -> float:
        """Record a wake-up at `now_s`; the lag in ms of this one."""
        lag_ms = 0.0 if self._due is None else max(0.0, (now_s - self._due) * 1000)
        self._recent.append(lag_ms)
        self.wakeups += 1
        self._due = now_s + self.interval_s
        return lag_ms

    @property
    def worst_ms(self) -> float:
        return max(self._recent, default=0.0)

    def lag_ms(self, now_s: float) -> float:
        """The worst recent lag, or how overdue the next wake-up is already: a loop blocked
        outright never wakes up to report itself."""
        overdue = 0.0 if self._due is None else max(0.0, (now_s - self._due) * 1000)
        return max(self.worst_ms, overdue)
