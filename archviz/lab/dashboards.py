"""The lab's dashboards: one, straight on ARCHVIZ_DASHBOARD_PORT, or several for a class.

Several (ARCHVIZ_DASHBOARDS > 1, issue 14) listen on free ports behind a listener of the
lab's own load balancer, which takes ARCHVIZ_DASHBOARD_PORT: the dashboard scales out on the
pattern it teaches. One stays direct: a proxy in front of a single backend spreads nothing,
adds a hop to every frame, and would make the lab's first page wait for the balancer (which
otherwise starts once the nodes are up, so that on two cores they come up first).
"""

import asyncio
import time
import urllib.request
from collections.abc import Mapping

from django.conf import settings

from archviz.core import hooks
from archviz.core.ports import free_port
from archviz.lab.child import Child

DASHBOARD_ID = "dashboard"  # the lab's one dashboard (ARCHVIZ_DASHBOARDS=1)
READY_PROBE_S = 30.0  # how long the listener may take to answer before the lab says it runs


def dashboard_ids(count: int) -> list[str]:
    """The dashboards' ids: `dashboard` alone, or dashboard-1 ... dashboard-N for a class."""
    return [DASHBOARD_ID] if count == 1 else [f"dashboard-{n}" for n in range(1, count + 1)]


class Dashboards:
    """Which dashboards the lab runs, what fronts them, and where learners find them."""

    def __init__(self, count: int, port: int, services: list[hooks.Service]) -> None:
        self.count = count
        self.port = port  # ARCHVIZ_DASHBOARD_PORT (0: a free one)
        self.ids = dashboard_ids(count)
        self.front = _front(services) if count > 1 else None
        self.public_port: int | None = None  # the front's port, once chosen

    def to_start(self, host: str) -> list[tuple[str, str, int | None, tuple[str, ...]]]:
        """(id, kind, port, more arguments) of each process to start: the dashboard on its
        port; or several on free ports and the load balancer, whose dashboards listener takes
        the dashboard's port for them (it starts at once, not after the nodes)."""
        if self.front is None:
            return [(DASHBOARD_ID, "dashboard", self.port, ())]
        self.public_port = self.port or free_port(host)
        front = (self.front.id, self.front.kind, service_port(self.front))
        return [
            *((child_id, "dashboard", 0, ()) for child_id in self.ids),
            (*front, ("--dashboards-port", str(self.public_port))),
        ]

    def ready(self, children: Mapping[str, Child]) -> bool:
        """Every dashboard registered, and the service in front of them if any."""
        ids = [*self.ids, *([self.front.id] if self.front else [])]
        return all(i in children and children[i].record.status == "up" for i in ids)

    def note(self) -> str:
        """What the lab's "running" line says of them."""
        return f"{self.count} dashboards behind the load balancer; " if self.front else ""


def service_port(service: hooks.Service) -> int | None:
    """The port a service is started on: its setting's (0: a free one), or None."""
    return getattr(settings, service.port_setting) if service.port_setting else None


def _front(services: list[hooks.Service]) -> hooks.Service:
    """The service that fronts several dashboards (the load balancer's app declares it)."""
    for service in services:
        if service.fronts_dashboards:
            return service
    raise RuntimeError("ARCHVIZ_DASHBOARDS > 1 needs the load balancer app installed")


async def until_answering(host: str, port: int, timeout_s: float = READY_PROBE_S) -> None:
    """Wait until a dashboard answers through the listener (it routes to a dashboard only once
    its health check passed), or the timeout."""
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{host}:{port}/health"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(_answers, url):
            return
        # Each probe before the listener's first check is a refusal it traces (lb.reject):
        # a few, not dozens, in the lab's log.
        await asyncio.sleep(0.5)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
