"""How fast overload is seen and routed around (issue 12): a real CPU hog starts in node-1's
process (the instructor's `node.hog`) while requests flow through the load balancer; timed
from the command to node-1 reporting pressure above its reject threshold (its pressure key
in Redis), and to the last request the balancer still sent to node-1.

Baseline, in the same run: a node frozen outright (SIGSTOP) leaving the balancer's healthy
set (its health checks failing or its registry entry expiring), the way the balancer loses
a node without pressure. Target: both pressure
times <= 1 s.
"""

import asyncio
import os
import signal
import time

import aiohttp

from archviz.core import keys, registry
from archviz.core.control import send_command
from archviz.core.pressure_report import parse_report
from bench.cluster import Cluster
from bench.common import median

RATE = 60  # requests/s through the balancer while the hog starts
HOG_S = 4
ROUNDS = 3


async def _traffic(url: str, stop: asyncio.Event, log: list[tuple[float, str]]) -> None:
    """Requests at RATE; each logged with its send time and the node that answered."""
    async with aiohttp.ClientSession() as session:

        async def one(sent: float) -> None:
            try:
                async with session.get(f"{url}/work?ms=0") as response:
                    await response.read()
                    log.append((sent, response.headers.get("X-Archviz-Node", "")))
            except aiohttp.ClientError:
                pass

        tasks = []
        while not stop.is_set():
            tasks.append(asyncio.create_task(one(time.perf_counter())))
            await asyncio.sleep(1 / RATE)
        await asyncio.gather(*tasks)


async def _over(cluster: Cluster, node: str, started: float, timeout_s: float = 10) -> float:
    """Seconds from `started` until the node's report is over its reject threshold."""
    while time.perf_counter() - started < timeout_s:
        report = parse_report(cluster.client.get(keys.node_pressure(node)))
        if report is not None and not report.has_headroom():
            return time.perf_counter() - started
        await asyncio.sleep(0.01)
    return float("inf")


def _last_routed(log: list[tuple[float, str]], node: str, after: float) -> float:
    """Seconds from `after` to the send time of the last request `node` answered, among
    those sent while it was overloaded (before the hog ends)."""
    sent = [at for at, answered in log if answered == node and after <= at < after + HOG_S - 1]
    return max(sent, default=after) - after


async def _hog_round(cluster: Cluster) -> dict:
    stop, log = asyncio.Event(), []
    traffic = asyncio.create_task(_traffic(cluster.url("lb"), stop, log))
    await asyncio.sleep(1.0)  # traffic on every node first
    started = time.perf_counter()
    send_command(cluster.client, {"type": "node.hog", "by": "bench", "trace": "",
                                  "node": "node-1", "seconds": HOG_S})  # fmt: skip
    reported = await _over(cluster, "node-1", started)
    await asyncio.sleep(HOG_S + 1)
    stop.set()
    await traffic
    return {"reported_s": round(reported, 3),
            "routed_around_s": round(_last_routed(log, "node-1", started), 3),
            "requests": len(log)}  # fmt: skip


async def _ejected(cluster: Cluster, node: str, started: float, timeout_s: float = 15) -> float:
    """Seconds until the balancer's metrics no longer show `node` healthy: its checks failed,
    or its registry entry expired (whichever comes first)."""
    while time.perf_counter() - started < timeout_s:
        metrics = registry.latest_metrics(cluster.client, ["lb"]).get("lb")
        backends = metrics.extra.get("backends", []) if metrics else []
        if metrics and not any(b["id"] == node and b["health"] == "healthy" for b in backends):
            return time.perf_counter() - started  # unhealthy, ejected, or out of the registry
        await asyncio.sleep(0.01)
    return float("inf")


def _frozen_round(cluster: Cluster) -> float:
    pid = cluster.processes["node-3"].pid
    started = time.perf_counter()
    os.kill(pid, signal.SIGSTOP)
    try:
        return round(asyncio.run(_ejected(cluster, "node-3", started)), 3)
    finally:
        os.kill(pid, signal.SIGCONT)


def run(rounds: int = ROUNDS) -> dict:
    with Cluster(3) as cluster:
        hogs = []
        for _ in range(rounds):
            hogs.append(figures := asyncio.run(_hog_round(cluster)))
            print(f"hog: {figures}")
        frozen = _frozen_round(cluster)
        print(f"frozen node out of the healthy set after {frozen} s")
    reported = max(h["reported_s"] for h in hogs)
    routed = max(h["routed_around_s"] for h in hogs)
    return {
        "hogs": hogs,
        "reported_median_s": median([h["reported_s"] for h in hogs]),
        "routed_around_median_s": median([h["routed_around_s"] for h in hogs]),
        "baseline_frozen_ejected_s": frozen,
        "routed_over_baseline": round(routed / frozen, 3) if frozen else None,
        "targets": {
            "hog to pressure over the reject threshold <= 1 s (worst)": (reported, reported <= 1),
            "hog to no new request on the node <= 1 s (worst)": (routed, routed <= 1),
        },
    }
