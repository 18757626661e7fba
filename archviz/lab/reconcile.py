"""The reconcile plan: desired children (the admin's rows) against running ones (pure).

A child is anything an app asks the supervisor to keep running (a node, a queue consumer);
its spec (archviz.core.hooks.ChildSpec) says which command runs it (`kind`), whether it
needs a port, and which parameters it applies live.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from archviz.core.hooks import ChildSpec


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
