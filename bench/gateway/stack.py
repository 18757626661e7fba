"""The gateway demo's real processes for the benchmark, on free ports: an embedded Redis,
two catalog replicas, the bidding service, two gateway replicas, and the archviz balancer
with its gateway listener over the replicas and its services listener over the catalogs.

Each child is vouched for as the supervisor would (registry.vouch): the balancer and the
gateway only send requests to the children the supervisor has a record of.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import redis

from archviz.core import keys, registry
from archviz.core.ports import free_port
from archviz.gateway import signing_keys
from archviz.lab.embedded_redis import EmbeddedRedis
from bench.common import RESULTS, ROOT, stop_processes

HOST = "127.0.0.1"
CATALOGS = ("catalog-1", "catalog-2")
GATEWAYS = ("gateway-1", "gateway-2")
START_TIMEOUT_S = 90
LOGS = RESULTS / "gateway-logs"  # each child's stderr (a restarted one's appended)


class Stack:
    """Every process of the gateway demo, started at once and stopped on the way out."""

    def __init__(self) -> None:
        self.redis = EmbeddedRedis()
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.kinds: dict[str, str] = {}

    def __enter__(self) -> "Stack":
        LOGS.mkdir(parents=True, exist_ok=True)
        for old in LOGS.glob("*.log"):
            old.unlink()
        self.redis.start()
        self.client = redis.Redis.from_url(self.redis.url)
        signing_keys.current_signing_key(self.client, time.time())  # the ring, before replicas
        for name in CATALOGS:
            self._spawn(name, "catalog")
        self._spawn("bidding-1", "bidding")
        for name in GATEWAYS:
            self._spawn(name, "gateway")
        self.ports["lb-gateway"], self.ports["lb-services"] = free_port(HOST), free_port(HOST)
        listeners = ("--gateway-port", str(self.ports["lb-gateway"]),
                     "--services-port", str(self.ports["lb-services"]))  # fmt: skip
        self._spawn("lb", "balancer", *listeners)
        self._wait_registered()
        return self

    def _env(self) -> dict[str, str]:
        env = os.environ | {"REDIS_URL": self.redis.url, "ARCHVIZ_LOG_LEVEL": "WARNING"}
        env.pop("ARCHVIZ_SUPERVISOR_PID", None)  # not a supervisor's child: stopped by us
        return env

    def _spawn(self, name: str, kind: str, *args: str) -> None:
        port = free_port(HOST)
        self.ports[name], self.kinds[name] = port, kind
        command = [sys.executable, str(ROOT / "manage.py"), kind, "--id", name, *args]
        self.processes[name] = self._popen(name, [*command, "--port", str(port), "--host", HOST])
        registry.vouch(self.client, name, kind, self.processes[name].pid, port)

    def _popen(self, name: str, command: list[str]) -> subprocess.Popen:
        """The child, its stderr in LOGS/<name>.log."""
        env = self._env() | {"DJANGO_SETTINGS_MODULE": "archviz.settings"}
        with open(LOGS / f"{name}.log", "ab") as log:
            return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=log, stdin=subprocess.DEVNULL)  # fmt: skip

    def _wait_registered(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        wanted = [keys.registry(kind, name) for name, kind in self.kinds.items()]
        while not all(self.client.exists(key) for key in wanted):
            for name, process in self.processes.items():
                if process.poll() is not None:
                    tail = (LOGS / f"{name}.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway stack did not register in time")
            time.sleep(0.1)
        time.sleep(2.0)  # the balancers' first health checks, the replicas' first reads

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://{HOST}:{self.ports[name]}"

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait()

    def restart(self, name: str) -> None:
        """Start a killed child again with the same id, as the supervisor would."""
        self._spawn(name, self.kinds[name])

    def registered(self, name: str) -> bool:
        found = registry.lookup(self.client, self.kinds[name], name)
        return found is not None and found.pid == self.processes[name].pid

    def __exit__(self, *exc: object) -> None:
        stop_processes(self.processes.values())
        self.redis.stop()


def wait_listening(ports: list[int], timeout_s: float = 60) -> None:
    """Return once something accepts connections on each port."""
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while True:
            try:
                socket.create_connection((HOST, port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nothing listening on {port}") from None
                time.sleep(0.1)
