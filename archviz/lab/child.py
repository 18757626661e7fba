"""One supervised child process and the record the supervisor publishes about it."""

import asyncio
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field

from django.conf import settings

from archviz.lab.reconcile import ChildSpec
from archviz.trace.events import now_ms


@dataclass
class ProcessRecord:
    """What the supervisor knows about a child; published in Redis for the dashboards."""

    id: str
    kind: str
    status: str = "starting"  # starting | up | paused | down | stopped | failed
    pid: int | None = None
    port: int | None = None
    restarts: int = 0
    detail: str = ""
    started_at: float | None = None  # unix ms
    spec: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


class Child:
    """A process the supervisor starts, watches, restarts and stops."""

    def __init__(self, record: ProcessRecord, command: list[str], spec: ChildSpec | None) -> None:
        self.record = record
        self.command = command
        self.spec = spec
        self.process: asyncio.subprocess.Process | None = None
        self.started_monotonic = 0.0
        self.crashes = 0
        self.restart_at: float | None = None  # monotonic time of a scheduled restart
        self.stopping = False  # we asked it to exit: do not treat the exit as a crash
        self.restart_after_stop = False
        self.remove_after_stop = False
        self.killed_by = ""  # who asked for the last SIGKILL, so the log can say so
        self.paused_by = ""  # who sent SIGSTOP, while the process is paused
        self.hold_restart_s = 0.0  # wait at least this long before restarting after a crash
        self.exit_handled = True
        self.registered = False

    @property
    def id(self) -> str:
        return self.record.id

    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def spawn(self, env: dict[str, str]) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us in order
        )
        self.started_monotonic = time.monotonic()
        self.stopping = False
        self.paused_by = ""
        self.exit_handled = False
        self.registered = False
        self.restart_at = None
        self.record.pid = self.process.pid
        self.record.status = "starting"
        self.record.detail = ""
        self.record.started_at = now_ms()

    def move_to_port(self, port: int) -> None:
        """Listen on `port` from the next start on (its command's --port)."""
        self.record.port = port
        at = self.command.index("--port") + 1
        self.command = [*self.command[:at], str(port), *self.command[at + 1 :]]

    def uptime(self) -> float:
        return time.monotonic() - self.started_monotonic

    def send(self, sig: int) -> bool:
        if not self.running():
            return False
        try:
            os.kill(self.process.pid, sig)
        except ProcessLookupError:
            return False
        return True

    async def terminate(self, grace_s: float) -> None:
        """SIGTERM, then SIGKILL if it has not exited within the grace period."""
        if not self.running():
            return
        self.stopping = True
        self.send(signal.SIGTERM)
        self.send(signal.SIGCONT)  # a paused (SIGSTOPped) process must wake to see SIGTERM
        try:
            await asyncio.wait_for(self.process.wait(), grace_s)
        except TimeoutError:
            self.send(signal.SIGKILL)
            await self.process.wait()


def manage_py_command(*args: str) -> list[str]:
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *args]
