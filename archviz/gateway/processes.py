"""The gateway demo's processes as the supervisor runs them: their kinds, the rules an admin's
row keeps to, and the spec each row becomes (pure: models.py reads the rows).

Every kind is a management command of this app, run as `manage.py <kind> --id <name>` (with
`--port P` when it listens), registered under that kind and id, started, restarted with
backoff and reconciled like the nodes.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ProcessKind:
    """One kind of process of the demo, and how many of it the lab runs."""

    command: str  # the management command, also its registry kind
    label: str  # in words, for the admin and its errors
    needs_port: bool
    default_count: int  # rows the first migration makes
    max_enabled: int  # enabled rows of the kind at once: each one costs a process

    def default_names(self) -> list[str]:
        """The first migration's rows: gateway-1, gateway-2, ...; a single one without a
        number when it is the only one the lab may run (auctionbots)."""
        if self.max_enabled == 1:
            return [self.command]
        return [f"{self.command}-{n}" for n in range(1, self.default_count + 1)]


KINDS: dict[str, ProcessKind] = {
    kind.command: kind
    for kind in (
        ProcessKind("gateway", "gateway replica", True, default_count=2, max_enabled=4),
        ProcessKind("auth", "auth service", True, default_count=1, max_enabled=2),
        ProcessKind("catalog", "catalog replica", True, default_count=2, max_enabled=4),
        ProcessKind("bidding", "bidding replica", True, default_count=2, max_enabled=4),
        # One process runs every bot (like the chat's bots): a second would double them.
        ProcessKind("auctionbots", "bidding bots", False, default_count=1, max_enabled=1),
    )
}


@dataclass(frozen=True)
class ProcessSpec:
    """What the admin asked for one of the demo's processes (hooks.ChildSpec)."""

    # On any free port, not the next of the nodes' numbered ones (archviz.core.hooks).
    any_free_port: ClassVar[bool] = True

    kind: str
    name: str
    needs_port: bool

    def runtime_params(self) -> dict[str, int]:
        """Nothing is applied live: a change is a new row, or the row disabled."""
        return {}


def spec_for(kind: str, name: str) -> ProcessSpec:
    return ProcessSpec(kind=kind, name=name, needs_port=KINDS[kind].needs_port)


def name_problem(kind: str, name: str) -> str:
    """Why `name` cannot be a `kind`'s, in words; "" when it can. It is the process's id in
    the registry, the trace and the gateway page, so it starts with what it is: catalog-3."""
    if kind not in KINDS or not name:
        return ""  # the kind's own field says what is wrong
    if name == kind or name.startswith(f"{kind}-"):
        return ""
    known = KINDS[kind]
    example = known.command if known.max_enabled == 1 else f"{kind}-1, {kind}-2, …"
    return f"A {known.label}'s name starts with its kind, {kind!r}: {example}"


def cap_problem(kind: str, other_enabled: int) -> str:
    """Why one more enabled `kind` is too many, with `other_enabled` of them already; ""
    when it fits."""
    if kind not in KINDS or other_enabled < KINDS[kind].max_enabled:
        return ""
    known = KINDS[kind]
    return (
        f"At most {known.max_enabled} {known.label}"
        f"{'s' if known.max_enabled > 1 else ''} may be enabled at once (each one is a"
        f" process on the lab's machine); {other_enabled} already are: disable one first."
    )


def within_caps(specs: Iterable[ProcessSpec]) -> list[ProcessSpec]:
    """The specs the lab runs: the first `max_enabled` of each kind, in name order (the admin
    checks the cap on each save; a bulk edit could still pass it)."""
    taken: dict[str, int] = {}
    kept = []
    for spec in sorted(specs, key=lambda s: s.name):
        if spec.kind not in KINDS:
            continue
        taken[spec.kind] = taken.get(spec.kind, 0) + 1
        if taken[spec.kind] <= KINDS[spec.kind].max_enabled:
            kept.append(spec)
    return kept


def runnable(
    specs: Iterable[ProcessSpec], commands: Collection[str]
) -> tuple[list[ProcessSpec], list[str]]:
    """The specs whose management command exists, and the kinds left out for lack of one."""
    specs = list(specs)
    missing = sorted({spec.kind for spec in specs if spec.kind not in commands})
    return [spec for spec in specs if spec.kind in commands], missing
