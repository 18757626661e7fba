"""Which clients a node disconnects to get back under its shed threshold (issue 12), and
how clients come back. Pure: the node passes its open sockets and a `random.Random`.

Shedding policies, chosen live by name: newest first, oldest first, random, or lowest
priority first (bots and anonymous tabs before signed-in learners). An instructor is never
shed: the class is watching their screen.

Reconnect policies, the same for bots and learners' tabs (a JS mirror comes with the
overload page): at once, a fixed delay, exponential backoff, or
exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter", 2015): a random delay between 0 and the exponential cap, which spreads a herd of
clients shed together over the whole window instead of bringing them back in waves.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["instructor", "learner", "anonymous", "bot"]
SHED_ORDER: dict[Role, int] = {"bot": 0, "anonymous": 1, "learner": 2}  # lowest first
SHED_POLICIES = ("newest", "oldest", "random", "priority")
RECONNECT_POLICIES = ("immediate", "fixed", "exponential", "full_jitter")


@dataclass(frozen=True)
class Client:
    id: str
    opened_ms: float
    role: Role


class UnknownPolicy(ValueError):
    """No shedding or reconnect policy has that name."""


def shed_count(open_sockets: int, fraction: float) -> int:
    """How many of `open_sockets` a shed of `fraction` (0..1) disconnects: at least one
    when any fraction is asked of a non-empty node."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be from 0 to 1, got {fraction}")
    if fraction == 0 or open_sockets == 0:
        return 0
    return max(1, round(open_sockets * fraction))


def choose_shed(
    clients: Sequence[Client], count: int, policy: str, rng: random.Random
) -> list[Client]:
    """Up to `count` clients to disconnect, by `policy`; never an instructor."""
    if policy not in SHED_POLICIES:
        raise UnknownPolicy(f"unknown shedding policy {policy!r}; use one of {SHED_POLICIES}")
    candidates = [c for c in clients if c.role != "instructor"]
    if policy == "newest":
        ordered = sorted(candidates, key=lambda c: -c.opened_ms)
    elif policy == "oldest":
        ordered = sorted(candidates, key=lambda c: c.opened_ms)
    elif policy == "random":
        ordered = rng.sample(candidates, len(candidates))
    else:  # the lowest priority first; within one, the newest (they lose the least)
        ordered = sorted(candidates, key=lambda c: (SHED_ORDER[c.role], -c.opened_ms))
    return ordered[: max(0, count)]


@dataclass(frozen=True)
class Backoff:
    """A reconnect policy's numbers: the first delay, the cap, the growth per attempt."""

    base_ms: float = 250.0
    cap_ms: float = 8000.0
    factor: float = 2.0


def reconnect_delay_ms(
    policy: str,
    attempt: int,
    rng: random.Random,
    backoff: Backoff = Backoff(),
    hint_ms: float = 0.0,
) -> float:
    """How long a client waits before its `attempt`-th reconnect (0 = the first).

    `hint_ms` is the server's `retry_after_ms`: the window over which it asks its shed or
    refused clients to come back. The policies that wait honour it as a floor on their
    window; a jittered one spreads over the whole window, while a fixed or exponential one
    comes back at its end, all together (still a herd, only later). `immediate` is the
    naive client that ignores it.
    """
    if policy not in RECONNECT_POLICIES:
        raise UnknownPolicy(f"unknown reconnect policy {policy!r}; use one of {RECONNECT_POLICIES}")
    if policy == "immediate":
        return 0.0
    if policy == "fixed":
        return max(backoff.base_ms, hint_ms)
    ceiling = min(backoff.cap_ms, backoff.base_ms * backoff.factor ** max(0, attempt))
    window = max(ceiling, hint_ms)
    return window if policy == "exponential" else rng.uniform(0, window)
