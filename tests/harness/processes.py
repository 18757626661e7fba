"""The one process harness: a `manage.py` command in a subprocess, its output kept line by
line, waited on (a printed line, a registration) and always stopped: SIGTERM, then SIGKILL
for it and everything it started."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import redis

from archviz.core.registry import Registration, lookup
from tests.harness.wait_for import wait_for

ROOT = Path(__file__).resolve().parents[2]
MANAGE_PY = ROOT / "manage.py"
DIE_WITH_PARENT = Path(__file__).with_name("die_with_parent.py")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


class ProcessError(AssertionError):
    """A process of the test exited early, printed the wrong thing, or would not stop."""


def command_env(**overrides: str | None) -> dict[str, str]:
    """This test's environment for a child: unbuffered, not a child of some supervisor;
    `overrides` on top (None removes a variable)."""
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    env.pop("ARCHVIZ_SUPERVISOR_PID", None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_manage(*args: str, env: Mapping[str, str], timeout: float = 60) -> str:
    """Run a `manage.py` command to its end; its output, or fail with it."""
    done = subprocess.run(
        [sys.executable, str(MANAGE_PY), *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise ProcessError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class ManagePy:
    """`manage.py <args>`, started at once in a session of its own; use it as a context
    manager (or call close()) so that it is stopped whatever the test does."""

    def __init__(self, *args: str, env: Mapping[str, str], name: str = "") -> None:
        self.name = name or args[0]
        self.lines: list[str] = []
        self._terminated = False
        self._drained = threading.Event()
        # SIGTERMed when pytest dies: a killed run, which tears nothing down, must not
        # leave a lab running (die_with_parent.py says why not with preexec_fn)
        command = [sys.executable, str(MANAGE_PY), *args]
        self.popen = subprocess.Popen(
            [sys.executable, str(DIE_WITH_PARENT), str(os.getpid()), *command],
            cwd=ROOT,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,  # its own group: a SIGKILL reaches what it started too
        )
        threading.Thread(target=self._read_output, daemon=True, name=self.name).start()

    def __enter__(self) -> "ManagePy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_output(self) -> None:
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))
        self._drained.set()

    # --- looking at it -----------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """None while it runs."""
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, last: int | None = None) -> str:
        lines = list(self.lines)
        return "\n".join(lines[-last:] if last else lines)

    def check_running(self) -> None:
        """Fail, with its output, if it has exited."""
        if not self.alive():
            self._drained.wait(2)
            raise ProcessError(f"{self.name} exited with {self.returncode}:\n{self.output()}")

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT_S) -> re.Match:
        """The first output line matching `pattern`, once printed; fails if it exits first."""
        regex = re.compile(pattern)

        def printed() -> re.Match | None:
            exited = self._drained.is_set()
            for line in list(self.lines):
                if match := regex.search(line):
                    return match
            if exited:
                raise ProcessError(
                    f"{self.name} exited ({self.returncode}) without printing {pattern!r}:\n"
                    + self.output()
                )
            return None

        return wait_for(
            printed,
            f"{self.name} to print {pattern!r}",
            timeout,
            explain=lambda: "output:\n" + self.output(),
        )

    def wait_registered(
        self,
        client: redis.Redis,
        kind: str,
        component_id: str | None = None,
        timeout: float = START_TIMEOUT_S,
    ) -> Registration:
        """Its registration in the registry (id: its name), once written; fails if it exits."""
        component_id = component_id or self.name

        def registration() -> Registration | None:
            self.check_running()
            return lookup(client, kind, component_id)

        return wait_for(
            registration,
            f"{kind} {component_id} registered",
            timeout,
            explain=lambda: "output:\n" + self.output(last=40),
        )

    def descendants(self) -> set[int]:
        """Every live process it started, directly or not."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
        found: set[int] = set()
        todo = [self.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.add(child)
                todo.append(child)
        return found

    # --- stopping it -------------------------------------------------------------------

    def send_signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def terminate(self) -> None:
        """SIGTERM, once: a second one would cut a graceful shutdown short."""
        if not self._terminated:
            self.send_signal(signal.SIGTERM)
            self._terminated = True

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Its exit code, once it exits; if it takes longer, kill it and fail."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ProcessError(f"{self.name} did not exit within {timeout} s") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> float:
        """Signal it and wait for it to exit; how long that took. Kills it and fails if it
        takes longer than `timeout`."""
        started = time.monotonic()
        if sig == signal.SIGTERM:
            self.terminate()
        else:
            self.send_signal(sig)
        self.wait(timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL it, its process group and every process it started; wait for it."""
        strays = self.descendants()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for pid in strays:  # those that made a session of their own (the lab's children)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait()

    def close(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop it for sure, failing nothing: SIGTERM, then SIGKILL after `timeout`."""
        stop_all([self], timeout)


def stop_all(processes: Iterable[ManagePy | None], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM every one still running at once, then SIGKILL whatever has not exited by the
    deadline (a busy machine can slow a graceful shutdown; clean-up must not fail a test)."""
    running = [p for p in processes if p is not None and p.alive()]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
