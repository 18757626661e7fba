"""How big each part of the benchmark runs: the full run, and --quick's smoke run."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    # latency and cost
    rate: int = 200  # open-loop requests/s
    seconds: float = 6.0  # per round and leg
    rounds: int = 5
    warm_up_s: float = 1.0
    subjects: int = 1_000  # distinct token subjects (each has its own rate limit bucket)
    wrk_seconds: int = 10
    wrk_connections: int = 16
    # bid fan-out
    watchers: int = 300
    rates: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320)  # bids/s, doubling: half of each is one
    step_s: float = 4.0
    drain_s: float = 2.0
    # chaos
    chaos_watchers: int = 200
    chaos_s: float = 60.0
    kill_every_s: float = 10.0
    bids_per_s: float = 10.0


FULL = Sizes()
QUICK = Sizes(
    seconds=1.0, rounds=1, warm_up_s=0.5, subjects=50, wrk_seconds=2, watchers=20,
    rates=(5, 10, 20), step_s=1.0, drain_s=0.5, chaos_watchers=20, chaos_s=12.0,
    kill_every_s=5.0, bids_per_s=4.0,
)  # fmt: skip
