"""The reconcile plan: desired children (the admin's rows) against running ones (pure).

A child is a node or a queue consumer; its spec says which (`kind`), whether it needs a
port, and which parameters it applies live.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class NodeSpec:
    """What the admin asked for one node."""

    kind: ClassVar[str] = "node"
    needs_port: ClassVar[bool] = True

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
class ConsumerSpec:
    """What the admin asked for one queue consumer."""

    kind: ClassVar[str] = "consumer"
    needs_port: ClassVar[bool] = False

    name: str
    work_ms: int = 0

    def runtime_params(self) -> dict[str, int]:
        return {"work_ms": self.work_ms}


ChildSpec = NodeSpec | ConsumerSpec


@dataclass(frozen=True)
class Start:
    spec: ChildSpec


@dataclass(frozen=True)
class Stop:
    name: str


@dataclass(frozen=True)
class Update:
    spec: ChildSpec


Action = Start | Stop | Update


def plan(desired: Iterable[ChildSpec], running: Mapping[str, ChildSpec]) -> list[Action]:
    """Start what is missing, stop what is no longer wanted, update what changed.

    `desired` holds the enabled children only; stops come first so that ports free up.
    A name that changed kind (a node deleted, a consumer made with its name) is stopped
    now and started on a later pass, once the old process is gone.
    """
    wanted = {spec.name: spec for spec in desired}
    stops: list[Action] = [Stop(name) for name in sorted(running) if name not in wanted]
    starts: list[Action] = []
    updates: list[Action] = []
    for name in sorted(wanted):
        spec = wanted[name]
        if name not in running:
            starts.append(Start(spec))
        elif spec.kind != running[name].kind:
            stops.append(Stop(name))
        elif running[name] != spec:
            updates.append(Update(spec))
    return stops + starts + updates
