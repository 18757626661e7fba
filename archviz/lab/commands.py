"""The supervisor's control commands: kill, stop, pause, resume and restart its children;
stop, start or kill the queue's consumers."""

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

import redis

from archviz.lab import keys
from archviz.lab.child import Child
from archviz.lab.control import ControlCommand, QueueCommand
from archviz.lab.redis_conn import shared_client
from archviz.queue.logic import CLAIM_IDLE_MS

if TYPE_CHECKING:
    from archviz.lab.supervisor import Supervisor

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 3.0
STOPPED_DETAIL = "stopped on purpose; press Restart to start it again"
KILLED_CONSUMER_RESTART_S = CLAIM_IDLE_MS / 1000 + 2.0


class Commands:
    """Carries out the commands the supervisor listens for, on its supervised children."""

    def __init__(self, supervisor: "Supervisor") -> None:
        self.supervisor = supervisor

    async def carry_out(self, command: ControlCommand) -> None:
        if command["type"].startswith("queue."):
            await self.on_queue(command)
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
            self.stop(child)
        elif action == "pause":
            if child.send(signal.SIGSTOP):
                child.paused_by = by or "an instructor"
        elif action == "resume":
            child.paused_by = ""
            child.send(signal.SIGCONT)
        elif action == "restart":
            await self.restart(child)

    def stop(self, child: Child) -> None:
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

    # --- the queue's consumers ---------------------------------------------------------

    async def on_queue(self, command: QueueCommand) -> None:
        """queue.stop / queue.start: every consumer (or one); queue.kill: the busiest one."""
        consumers = [
            c for c in self.supervisor.children.values() if c.spec and c.spec.kind == "consumer"
        ]
        if command["consumer"]:
            consumers = [c for c in consumers if c.id == command["consumer"]]
        if not consumers:
            log.warning("ignored %s: no consumer %r", command["type"], command["consumer"] or "")
            return
        action = command["type"].split(".", 1)[1]
        if action == "kill":
            victim = await _busiest(consumers)
            # Its restart waits until another consumer may claim the job it held: the
            # learner sees the job redelivered to someone else, not just re-read on restart.
            victim.hold_restart_s = KILLED_CONSUMER_RESTART_S
            await self.on_child("kill", victim, command["by"])
        for child in consumers if action != "kill" else []:
            if action == "stop":
                self.stop(child)
            elif not child.running() and child.restart_at is None:
                await self.restart(child)


async def _busiest(consumers: list[Child]) -> Child:
    """The running consumer holding the most unacknowledged jobs: killing it loses work."""
    running = [c for c in consumers if c.running()] or consumers
    try:
        summary = await asyncio.to_thread(
            shared_client().xpending, keys.QUEUE_STREAM, keys.QUEUE_GROUP
        )
    except redis.RedisError:
        return running[0]
    pending = {c["name"].decode(): c["pending"] for c in summary.get("consumers") or []}
    return max(running, key=lambda c: pending.get(c.id, 0))
