"""Backend health as a pure state machine: active checks and passive ejection, without I/O.

A new backend is "unknown" and takes traffic at once. Consecutive failed checks take it
"unhealthy"; consecutive passed checks bring it back. A failed connection "ejects" it at once
for a while, after which it returns by itself. Every change is reported once, as a
`Transition`, so callers can emit a trace event for it.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

HealthState = Literal["unknown", "healthy", "unhealthy", "ejected"]


@dataclass(frozen=True)
class HealthPolicy:
    """When a backend is taken out of rotation and when it comes back."""

    interval_s: float = 1.0
    unhealthy_after: int = 3
    healthy_after: int = 2
    eject_for_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("interval_s", "unhealthy_after", "healthy_after", "eject_for_s"):
            value = getattr(self, name)
            if not value > 0:  # also rejects NaN
                raise ValueError(f"HealthPolicy.{name} must be positive, got {value}")


@dataclass(frozen=True)
class Transition:
    """A backend's health changed; `reason` says why in words."""

    backend_id: str
    from_state: HealthState
    to_state: HealthState
    reason: str


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


class BackendHealth:
    """One backend's health, driven by check results and connection failures."""

    def __init__(self, backend_id: str, policy: HealthPolicy | None = None) -> None:
        self.backend_id = backend_id
        self.policy = policy or HealthPolicy()
        self.state: HealthState = "unknown"
        self.failures = 0  # failed checks in a row
        self.successes = 0  # passed checks in a row
        self.ejected_until = 0.0
        self.last_check_at: float | None = None

    def record_check(self, ok: bool, now: float) -> Transition | None:
        """Count one active health check; returns the change it caused, if any."""
        before = self.state
        self._expire(now)
        self.last_check_at = now
        self.successes, self.failures = (self.successes + 1, 0) if ok else (0, self.failures + 1)
        if not ok and self.failures >= self.policy.unhealthy_after:
            self.state = "unhealthy"
        elif ok and self._comes_back():
            self.state = "healthy"
        return self._changed(before)

    def _comes_back(self) -> bool:
        """A new backend is confirmed by one passed check, a down one by `healthy_after`."""
        if self.state == "unhealthy":
            return self.successes >= self.policy.healthy_after
        return self.state == "unknown"

    def record_connect_failure(self, now: float) -> Transition | None:
        """A request could not connect: eject the backend at once for `eject_for_s`."""
        before = self.state
        self._expire(now)
        if self.state != "unhealthy":
            self.state = "ejected"
            self.ejected_until = now + self.policy.eject_for_s
        return self._changed(before)

    def expire(self, now: float) -> Transition | None:
        """End an ejection whose time is up; returns that change, if it happened now."""
        before = self.state
        self._expire(now)
        return self._changed(before)

    def is_available(self, now: float) -> bool:
        """Whether the balancer may send this backend traffic at `now`."""
        if self.state == "ejected":
            return now >= self.ejected_until
        return self.state != "unhealthy"

    def check_due(self, now: float) -> bool:
        """Whether the next active check is due, `interval_s` after the last one."""
        return self.last_check_at is None or now - self.last_check_at >= self.policy.interval_s

    def describe(self, now: float | None = None) -> str:
        """The state in words; with `now`, an ejection shows the time it has left."""
        if self.state == "ejected":
            return self._describe_ejection(now)
        if self.state == "unknown":
            return "new: no checks yet, taking traffic"
        if self.state == "unhealthy" and self.successes:
            needed = self.policy.healthy_after
            return f"down: {self.successes} of {needed} passed checks needed to come back"
        if self.state == "unhealthy":
            return f"down: {_count(self.failures, 'failed check')} in a row"
        if self.failures:
            return f"up, but {_count(self.failures, 'failed check')} in a row"
        return "up"

    def _describe_ejection(self, now: float | None) -> str:
        left = self.policy.eject_for_s if now is None else self.ejected_until - now
        if left <= 0:
            return "up: back after an ejection"
        return f"ejected for {left:.1f} s after a connection failure"

    def _expire(self, now: float) -> None:
        if self.state == "ejected" and now >= self.ejected_until:
            self.state = "healthy"

    def _changed(self, before: HealthState) -> Transition | None:
        if self.state == before:
            return None
        return Transition(self.backend_id, before, self.state, self._why(before))

    def _why(self, before: HealthState) -> str:
        if self.state == "unhealthy":
            return f"{_count(self.failures, 'failed check')} in a row"
        if self.state == "ejected":
            return f"a connection failed: out of rotation for {self.policy.eject_for_s:.1f} s"
        if before == "ejected":
            return f"its {self.policy.eject_for_s:.1f} s ejection is over"
        if before == "unknown":
            return "its first check passed"
        return f"{_count(self.successes, 'passed check')} in a row"


class HealthTable:
    """The health of every backend the balancer knows, kept in step with the registry."""

    def __init__(self, policy: HealthPolicy | None = None) -> None:
        self.policy = policy or HealthPolicy()
        self._by_id: dict[str, BackendHealth] = {}

    def sync(self, ids: Iterable[str]) -> None:
        """Track exactly these backends: new ones start "unknown", gone ones are forgotten."""
        self._by_id = {
            backend_id: self._by_id.get(backend_id) or BackendHealth(backend_id, self.policy)
            for backend_id in ids
        }

    def __getitem__(self, backend_id: str) -> BackendHealth:
        return self._by_id[backend_id]

    def __contains__(self, backend_id: object) -> bool:
        return backend_id in self._by_id

    def __iter__(self) -> Iterator[BackendHealth]:
        return iter(self._by_id.values())

    def available(self, ids: Iterable[str], now: float) -> list[str]:
        """Those of `ids` that may take traffic now, in order; an untracked id counts as new."""
        return [i for i in ids if i not in self._by_id or self._by_id[i].is_available(now)]

    def due(self, now: float) -> list[str]:
        """The backends whose next active check is due."""
        return [health.backend_id for health in self if health.check_due(now)]

    def tick(self, now: float) -> list[Transition]:
        """End every ejection whose time is up, reporting each return once."""
        changes = (health.expire(now) for health in self)
        return [change for change in changes if change is not None]
