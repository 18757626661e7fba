"""Which clients a node disconnects to get back under its shed threshold (issue 12). Pure:
the node passes its open sockets and a `random.Random`. How they come back is
archviz/core/reconnect.py's.

Shedding policies, chosen live by name: newest first, oldest first, random, or lowest
priority first (bots and anonymous tabs before signed-in learners). An instructor is never
shed: the class is watching their screen.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from archviz.core.node_commands import SHED_POLICIES

Role = Literal["instructor", "learner", "anonymous", "bot"]
SHED_ORDER: dict[Role, int] = {"bot": 0, "anonymous": 1, "learner": 2}  # lowest first


@dataclass(frozen=True)
class Client:
    id: str
    opened_ms: float
    role: Role


class UnknownPolicy(ValueError):
    """No shedding policy has that name."""


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
