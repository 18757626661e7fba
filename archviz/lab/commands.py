"""The supervisor's control commands: kill, stop, pause, resume and restart its children;
the apps' own supervisor commands (the queue's) are handed what they may do to children."""

import logging
import signal
from typing import TYPE_CHECKING

from archviz.core import hooks
from archviz.core.control import ControlCommand
from archviz.lab.child import Child

if TYPE_CHECKING:
    from archviz.lab.supervisor import Supervisor

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 3.0
STOPPED_DETAIL = "stopped on purpose; press Restart to start it again"


class Commands:
    """Carries out the commands the supervisor listens for, on its supervised children.

    It is also what an app's supervisor command handler may use (hooks.Supervision).
    """

    def __init__(self, supervisor: "Supervisor") -> None:
        self.supervisor = supervisor
        self.handlers = hooks.supervisor_handlers()

    def prefixes(self) -> tuple[str, ...]:
        return ("node.", *self.handlers)

    async def carry_out(self, command: ControlCommand) -> None:
        for prefix, handler in self.handlers.items():
            if command["type"].startswith(prefix):
                try:
                    await handler(self, command)
                except LookupError as missing:
                    log.warning("ignored %s: %s", command["type"], missing)
                return
        child = self.supervisor.children.get(command["node"])
        if child is None or child.spec is None:
            log.warning("ignored %s for unknown node %r", command["type"], command["node"])
            return
        await self.on_child(command["type"].split(".", 1)[1], child, command["by"])

    async def on_child(self, action: str, child: Child, by: str) -> None:
        """kill | stop | pause | resume | restart one child."""
        if action == "kill":
            child.killed_by = by or "an instructor"
            child.send(signal.SIGKILL)
        elif action == "stop":
            self.stop_child(child)
        elif action == "pause":
            if child.send(signal.SIGSTOP):
                child.paused_by = by or "an instructor"
                # one status from now on, not "up" until its heartbeat expires, then "down"
                child.record.status = "paused"
                child.record.detail = f"paused (SIGSTOP) by {child.paused_by}: alive, frozen"
        elif action == "resume":
            if child.paused_by and child.running():
                child.record.status = "starting"
                child.record.detail = "resumed (SIGCONT): waiting for its heartbeat"
            child.paused_by = ""
            child.send(signal.SIGCONT)
        elif action == "restart":
            await self.restart(child)

    def stop_child(self, child: Child) -> None:
        child.restart_at = None
        if child.running():
            self.supervisor.in_background(child.terminate(STOP_TIMEOUT_S))
        else:
            child.record.status = "stopped"
            child.record.detail = STOPPED_DETAIL

    async def restart(self, child: Child) -> None:
        child.restart_at = None
        if child.running():
            child.restart_after_stop = True
            self.supervisor.in_background(child.terminate(STOP_TIMEOUT_S))
        else:
            child.crashes = 0
            child.record.restarts += 1
            await self.supervisor.spawn(child)

    # --- hooks.Supervision: what an app's handler may do, by child id ---------------------

    def children(self, kind: str) -> list[str]:
        return [c.id for c in self.supervisor.children.values() if c.spec and c.spec.kind == kind]

    def is_running(self, child_id: str) -> bool:
        return self.supervisor.children[child_id].running()

    async def kill(self, child_id: str, by: str, *, hold_restart_s: float = 0.0) -> None:
        child = self.supervisor.children[child_id]
        child.hold_restart_s = hold_restart_s
        await self.on_child("kill", child, by)

    def stop(self, child_id: str) -> None:
        self.stop_child(self.supervisor.children[child_id])

    async def start(self, child_id: str) -> None:
        """Start it if it is neither running nor due to restart."""
        child = self.supervisor.children[child_id]
        if not child.running() and child.restart_at is None:
            await self.restart(child)
