"""When to restart a crashed process, and when to give up on it (pure)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartDecision:
    crashes: int  # consecutive quick crashes, this one included
    delay_s: float | None  # seconds to wait before restarting; None: give up


@dataclass(frozen=True)
class RestartPolicy:
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    stable_after_s: float = 10.0  # a run at least this long resets the crash count
    max_crashes: int = 5

    def after_exit(self, previous_crashes: int, uptime_s: float) -> RestartDecision:
        """Exponential backoff over consecutive quick crashes; give up after max_crashes."""
        crashes = 1 if uptime_s >= self.stable_after_s else previous_crashes + 1
        if crashes > self.max_crashes:
            return RestartDecision(crashes, None)
        delay = min(self.base_delay_s * 2 ** (crashes - 1), self.max_delay_s)
        return RestartDecision(crashes, delay)
