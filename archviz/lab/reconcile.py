"""The reconcile plan: desired nodes (the admin's rows) against running ones (pure)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NodeSpec:
    """What the admin asked for one node."""

    name: str
    weight: int = 1
    capacity: int = 10
    latency_ms: int = 0
    jitter_ms: int = 0

    def runtime_params(self) -> dict[str, int]:
        """The parameters a running node applies live, without a restart."""
        return {
            "weight": self.weight,
            "capacity": self.capacity,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
        }


@dataclass(frozen=True)
class Start:
    spec: NodeSpec


@dataclass(frozen=True)
class Stop:
    name: str


@dataclass(frozen=True)
class Update:
    spec: NodeSpec


Action = Start | Stop | Update


def plan(desired: Iterable[NodeSpec], running: Mapping[str, NodeSpec]) -> list[Action]:
    """Start what is missing, stop what is no longer wanted, update what changed.

    `desired` holds the enabled nodes only; stops come first so that ports free up.
    """
    wanted = {spec.name: spec for spec in desired}
    stops: list[Action] = [Stop(name) for name in sorted(running) if name not in wanted]
    starts: list[Action] = []
    updates: list[Action] = []
    for name in sorted(wanted):
        spec = wanted[name]
        if name not in running:
            starts.append(Start(spec))
        elif running[name] != spec:
            updates.append(Update(spec))
    return stops + starts + updates
