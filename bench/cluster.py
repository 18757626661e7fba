"""Real processes for benchmarks: an embedded Redis, worker nodes and the load balancer."""

import os
import signal
import subprocess
import sys
import time

import redis

from archviz.core import keys, registry
from archviz.core.ports import free_port
from archviz.lab.embedded_redis import EmbeddedRedis
from bench.common import ROOT, stop_processes


class Cluster:
    """Redis, `nodes` node processes and (optionally) the archviz LB, on free ports."""

    def __init__(self, nodes: int = 3, *, capacity: int = 1000, balancer: bool = True) -> None:
        self.node_count = nodes
        self.capacity = capacity
        self.with_balancer = balancer
        self.redis = EmbeddedRedis()
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}

    def __enter__(self) -> "Cluster":
        self.redis.start()
        self.client = redis.Redis.from_url(self.redis.url)
        for n in range(1, self.node_count + 1):
            node = f"node-{n}"
            self.client.hset(
                keys.node_config(node),
                mapping={"weight": 1, "capacity": self.capacity, "latency_ms": 0, "jitter_ms": 0},
            )
            self._spawn(node, "node", "--id", node)
        if self.with_balancer:
            self._spawn("lb", "balancer", "--id", "lb", "--gateway-port", "0")
        self._wait_registered()
        return self

    def _spawn(self, name: str, command: str, *args: str) -> None:
        port = free_port("127.0.0.1")
        self.ports[name] = port
        self.processes[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), command, *args, "--port", str(port)],
            env=os.environ | {"REDIS_URL": self.redis.url, "ARCHVIZ_LOG_LEVEL": "WARNING"},
            stdout=subprocess.DEVNULL,
        )
        # As a supervisor would: the balancer only routes to the children it has a record of.
        registry.vouch(self.client, name, command, self.processes[name].pid, port)

    def _wait_registered(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        wanted = {keys.registry("node", f"node-{n}") for n in range(1, self.node_count + 1)}
        if self.with_balancer:
            wanted.add(keys.registry("balancer", "lb"))
        while time.monotonic() < deadline:
            if all(self.client.exists(key) for key in wanted):
                time.sleep(1.5)  # the LB's first health checks
                return
            time.sleep(0.05)
        raise RuntimeError("cluster did not register in time")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)

    def __exit__(self, *exc) -> None:
        stop_processes(self.processes.values())
        self.redis.stop()
