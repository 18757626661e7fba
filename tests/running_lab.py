"""A real `manage.py lab` in a subprocess, on free ports, and ways to watch it."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60


class LabError(AssertionError):
    pass


class RunningLab:
    def __init__(self, var_dir: Path, **env: str) -> None:
        self.var_dir = var_dir
        self.env = os.environ | {
            "ARCHVIZ_VAR_DIR": str(var_dir),
            "ARCHVIZ_DASHBOARD_PORT": "0",
            "ARCHVIZ_NODE_PORT": "0",
            "ARCHVIZ_LB_PORT": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("REDIS_URL", None)
        self.env.update(env)
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.redis_url = ""
        self.admin_password = ""

    # --- starting and stopping -----------------------------------------------------

    def start(self) -> "RunningLab":
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "lab"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        try:
            self.url = self.wait_for_line(r"running: (http://\S+?)/? ").group(1)
            redis_line = self.wait_for_line(r"(?:embedded Redis:|using Redis at) (redis://\S+)")
        except LabError:
            os.killpg(self.process.pid, signal.SIGKILL)  # never leave a half-started lab
            raise
        self.redis_url = redis_line.group(1)
        if redis_line.group(0).startswith("embedded"):  # its password is not printed
            secret = (self.var_dir / "redis_password").read_text().strip()
            self.redis_url = self.redis_url.replace("redis://", f"redis://:{secret}@", 1)
        password = re.search(r"password '([^']+)'", "\n".join(self.lines))
        self.admin_password = password.group(1) if password else ""
        return self

    def _read_output(self) -> None:
        for line in self.process.stdout:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT_S) -> re.Match:
        """The first output line matching pattern, waiting for it to be printed."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                if self.process.poll() is not None and self.process.stdout.closed:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._new_line.wait(min(remaining, 0.5))
        raise LabError(f"lab never printed {pattern!r}; output:\n" + "\n".join(self.lines))

    def descendants(self) -> set[int]:
        """Every live process started (directly or not) by the lab."""
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
        todo = [self.process.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.add(child)
                todo.append(child)
        return found

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15) -> float:
        """Signal the lab and wait for it to exit; returns how long that took."""
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise LabError(f"lab did not exit within {timeout} s of {sig!r}") from None
        return time.monotonic() - started

    # --- looking at it ----------------------------------------------------------

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.load(response)

    def state(self) -> dict:
        return self.get_json("/api/lab/state")

    def node(self, node_id: str) -> dict | None:
        return next((n for n in self.state()["nodes"] if n["id"] == node_id), None)

    def wait_until(self, condition: Callable[[dict], bool], what: str, timeout: float = 20):
        """Poll the lab's state until condition holds; fail naming what never happened."""
        deadline = time.monotonic() + timeout
        state: dict = {}
        while time.monotonic() < deadline:
            state = self.state()
            if condition(state):
                return state
            time.sleep(0.1)
        raise LabError(f"timed out waiting for {what}; last state: {json.dumps(state)[:2000]}")

    def wait_for_nodes_up(self, count: int, timeout: float = 30) -> dict:
        return self.wait_until(
            lambda s: (
                sum(n["status"] == "up" for n in s["nodes"]) == count and len(s["nodes"]) == count
            ),
            f"{count} nodes up",
            timeout,
        )

    def wait_for_ready(self, nodes: int = 3, timeout: float = 40) -> dict:
        """Every node up and healthy in the load balancer, and the traffic generator running."""
        return self.wait_until(
            lambda s: (
                sum(n["status"] == "up" for n in s["nodes"]) == nodes == len(s["nodes"])
                and s["lb"] is not None
                and s["traffic"] is not None
                and sum(b["health"] == "healthy" for b in s["lb"]["backends"]) == nodes
            ),
            f"{nodes} nodes up and healthy behind the load balancer",
            timeout,
        )

    def manage(self, *args: str) -> str:
        """Run another manage.py command against this lab's database and Redis."""
        env = self.env | {"REDIS_URL": self.redis_url}
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise LabError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def create_user(self, username: str, password: str, *, instructor: bool) -> None:
        group = "u.groups.add(Group.objects.get(name='Instructors'))" if instructor else ""
        self.shell(
            "from django.contrib.auth.models import Group, User\n"
            f"u = User.objects.create_user({username!r}, password={password!r})\n"
            f"{group}\n"
        )
