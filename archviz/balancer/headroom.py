"""Headroom first (issue 12): new requests and new WebSockets go to the nodes whose pressure
is at or under their own reject threshold; only when none has headroom does the algorithm
choose among all of them, and the chosen node then refuses the work itself.

Pure: each node's `Pressure` comes from its report (core/pressure_report.py), which the pool
reads every 100 ms (backends.read_pressures_forever). Only the nodes' pool has reports; the
gateway's and the services' pools never come here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archviz.balancer.algorithms import Backend
from archviz.core.pressure_report import Report

DEFAULT_REJECT_ABOVE = 0.8  # the admin's default (80 %), shown for a node with no report
SHOWN = 3  # nodes named in a note before "and N more", to keep the trace line short


@dataclass(frozen=True)
class Pressure:
    """A node's pressure as the balancer last read it."""

    value: float  # 0..1
    reject_above: float  # 0..1: above it, the node refuses new work
    reporting: bool  # False: its report is missing (frozen by SIGSTOP, or dead), so 1.0
    # a node the balancer has not yet read one report of (just started): no news is not
    # "frozen", so it keeps its headroom until its first report or its health checks say
    awaited: bool = False

    @classmethod
    def from_report(cls, report: Report | None) -> "Pressure":
        if report is None:
            return NOT_REPORTING
        return cls(report.value, report.reject_above, reporting=True)

    def has_headroom(self) -> bool:
        """A node that stopped reporting has none: it is frozen or gone."""
        return self.awaited or (self.reporting and self.value <= self.reject_above)

    def why_not(self, backend_id: str) -> str:
        """Why the node has no headroom, for the trace."""
        if not self.reporting:
            return f"{backend_id} not reporting"
        value, limit = f"{self.value:.2f}", f"{self.reject_above:.2f}"
        return f"{backend_id} over its reject threshold ({value} > {limit})"


NOT_REPORTING = Pressure(1.0, DEFAULT_REJECT_ABOVE, reporting=False)
NOT_YET_REPORTED = Pressure(0.0, DEFAULT_REJECT_ABOVE, reporting=False, awaited=True)

Pressures = Mapping[str, Pressure]


def with_headroom(
    backends: Sequence[Backend], pressures: Pressures
) -> tuple[list[Backend], str | None]:
    """The backends to choose among and, when that is not simply all of them as usual, why.

    The ones with headroom when there are any (a backend missing from `pressures` has not
    reported); else all of them, noted only if some node reported (with no report at all
    there is nothing to tell, and the balancer works as it did before reports)."""
    pressure = {b.id: pressures.get(b.id, NOT_REPORTING) for b in backends}
    over = [b for b in backends if not pressure[b.id].has_headroom()]
    if not over:
        return list(backends), None
    room = [b for b in backends if pressure[b.id].has_headroom()]
    if room:
        reasons = _listed([pressure[b.id].why_not(b.id) for b in over])
        chosen = f"{room[0].id} has headroom" if len(room) == 1 else f"among {_ids(room)}"
        return room, f"{reasons}: {chosen}"
    if any(p.reporting for p in pressure.values()):
        return list(backends), "no node under its reject threshold: among all"
    return list(backends), None


def _ids(backends: Sequence[Backend]) -> str:
    return _listed([b.id for b in backends])


def _listed(items: list[str]) -> str:
    if len(items) <= SHOWN:
        return ", ".join(items)
    return f"{', '.join(items[:SHOWN])} and {len(items) - SHOWN} more"
