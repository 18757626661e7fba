"""The archviz load balancer against a direct connection and nginx, in one run.

- added latency: the same open-loop load (200 requests/s of zero-work GETs) sent
  directly to the nodes (the client takes them in turn), through the archviz LB, and
  through nginx over the same nodes; every leg is warmed up once first, so that no round
  pays for cold nodes or new connections alone; what the LB adds is the median over the
  rounds of its p50 less the direct p50 of the same round;
- the LB's own CPU per request (its process's CPU time over its rounds, less its idle CPU
  during the other legs): steadier than latency on a busy machine;
- throughput: wrk (closed loop) through the archviz LB and through nginx;
- failover: 200 requests/s through the LB while a node is SIGKILLed: how long until no
  request goes to it (from the LB's own trace events) and how many requests failed.
Targets (issue 3): LB adds <= 1.5 ms p50 at 200 requests/s; LB >= 60% of nginx's
requests/s; failover <= 3 s with zero failed idempotent requests.
nginx and wrk legs are skipped, with a message, when they are not installed.
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

from archviz.core import keys
from bench.cluster import Cluster
from bench.common import median, percentile, report

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")
RATE = 200
SECONDS = 6
ROUNDS = 5
WARM_UP_SECONDS = 1
WORK = "/work?ms=0"


async def open_loop(
    url: str | list[str], rate: float = RATE, seconds: float = SECONDS
) -> list[dict]:
    """Send at a fixed rate regardless of answers; latency counts from the scheduled time.

    Given several URLs, the client spreads the requests over them in turn itself.
    """
    urls = [url] if isinstance(url, str) else url
    results: list[dict] = []
    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(scheduled: float, url: str) -> None:
            try:
                async with session.get(url + WORK) as response:
                    await response.read()
                    status, node = response.status, response.headers.get("X-Archviz-Node")
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, node = 0, type(exc).__name__
            done = time.perf_counter()
            results.append({"at": scheduled, "ms": (done - scheduled) * 1000,
                            "status": status, "node": node})  # fmt: skip

        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            tasks.append(asyncio.create_task(one(scheduled, urls[i % len(urls)])))
        await asyncio.gather(*tasks)
    return results


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_latency(legs: dict[str, str | list[str]], lb_pid: int) -> dict:
    """Each leg for ROUNDS rounds, interleaved so that machine noise hits them alike;
    a leg's figures are the medians over its rounds. Every leg is warmed up first: the
    first round of the first leg would otherwise meet cold nodes, and each leg's first
    round would open all its connections."""
    for url in legs.values():
        asyncio.run(open_loop(url, seconds=WARM_UP_SECONDS))
    rounds: dict[str, list[dict]] = {name: [] for name in legs}
    lb_busy: list[tuple[float, float, int]] = []  # (CPU s, wall s, requests) per LB round
    lb_idle: list[tuple[float, float]] = []  # (CPU s, wall s) while other legs ran
    for _ in range(ROUNDS):
        for name, url in legs.items():
            cpu, wall = cpu_seconds(lb_pid), time.perf_counter()
            results = asyncio.run(open_loop(url))
            cpu, wall = cpu_seconds(lb_pid) - cpu, time.perf_counter() - wall
            rounds[name].append(latency_summary(results))
            if name == "archviz_lb":
                lb_busy.append((cpu, wall, len(results)))
            else:
                lb_idle.append((cpu, wall))
    return _leg_medians(rounds) | _lb_added(rounds) | _lb_cpu(lb_busy, lb_idle)


def _lb_added(rounds: dict[str, list[dict]]) -> dict:
    """What the LB adds to the p50, round by round against the direct leg of the same round,
    and the median of that: a round the machine slowed (both legs, or one) moves it little."""
    added = [
        lb["p50_ms"] - direct["p50_ms"]
        for lb, direct in zip(rounds["archviz_lb"], rounds["direct"], strict=True)
    ]
    return {
        "lb_added_p50_ms": round(median(added), 3),
        "lb_added_p50_by_round_ms": [round(x, 3) for x in added],
    }


def _lb_cpu(busy: list[tuple[float, float, int]], idle: list[tuple[float, float]]) -> dict:
    """The LB's CPU per request: its CPU over its rounds less what it spends idle (registry,
    health checks, heartbeat) in the same time."""
    idle_rate = sum(cpu for cpu, _ in idle) / sum(wall for _, wall in idle)
    per_request = [(cpu - idle_rate * wall) / n * 1e6 for cpu, wall, n in busy]
    return {
        "lb_cpu_us_per_request": round(median(per_request)),
        "lb_cpu_us_per_request_by_round": [round(x) for x in per_request],
        "lb_idle_cpu_percent": round(idle_rate * 100, 2),
    }


def _leg_medians(rounds: dict[str, list[dict]]) -> dict:
    return {
        name: {
            "p50_ms": round(median([r["p50_ms"] for r in results]), 3),
            "p99_ms": round(median([r["p99_ms"] for r in results]), 3),
            "failed": sum(r["failed"] for r in results),
            "sent": sum(r["sent"] for r in results),
            "p50_by_round_ms": [r["p50_ms"] for r in results],
        }
        for name, results in rounds.items()
    }


def latency_summary(results: list[dict]) -> dict:
    ok = [r["ms"] for r in results if r["status"] == 200]
    return {
        "p50_ms": round(percentile(ok, 50), 3),
        "p99_ms": round(percentile(ok, 99), 3),
        "failed": sum(r["status"] != 200 for r in results),
        "sent": len(results),
    }


def wrk_rps(url: str, seconds: int = 8, connections: int = 32) -> float | None:
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url + WORK],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


class Nginx:
    """nginx as a reverse proxy over the same nodes: one worker, keep-alive upstreams."""

    def __init__(self, backends: list[int], port: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="archviz-nginx-")
        upstream = "\n".join(f"    server 127.0.0.1:{p};" for p in backends)
        conf = f"""
worker_processes 1; daemon off; pid {self.dir}/nginx.pid; error_log {self.dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {self.dir}; proxy_temp_path {self.dir};
  fastcgi_temp_path {self.dir}; uwsgi_temp_path {self.dir}; scgi_temp_path {self.dir};
  upstream nodes {{
{upstream}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://nodes; proxy_http_version 1.1;
                 proxy_set_header Connection ""; proxy_set_header Host $host; }}
  }}
}}
"""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as handle:
            handle.write(conf)
        self.port = port

    def __enter__(self) -> "Nginx":
        self.process = subprocess.Popen(["nginx", "-c", self.conf, "-p", self.dir])
        time.sleep(0.5)
        if self.process.poll() is not None:
            raise RuntimeError(open(os.path.join(self.dir, "error.log")).read())
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def failover(cluster: Cluster) -> dict:
    """Kill node-2 three seconds into 8 s of 200 requests/s through the LB."""
    routed_to_victim: list[float] = []
    pubsub = cluster.client.pubsub()
    pubsub.subscribe(keys.TRACE_CHANNEL)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                for event in json.loads(message["data"]):
                    if event["kind"] in ("lb.route", "lb.retry") and event["dst"] == "node-2":
                        routed_to_victim.append(event["ts"] / 1000)

    watcher = threading.Thread(target=watch)
    watcher.start()
    killed_at: list[float] = []

    def kill_later() -> None:
        time.sleep(3)
        killed_at.append(time.time())
        cluster.kill("node-2")

    threading.Thread(target=kill_later).start()
    results = asyncio.run(open_loop(cluster.url("lb"), seconds=8))
    time.sleep(0.5)
    stop.set()
    watcher.join()
    after = [t for t in routed_to_victim if t >= killed_at[0]]
    return {
        "requests": len(results),
        "failed": sum(r["status"] != 200 for r in results),
        "last_routed_to_killed_node_s": round(max(after) - killed_at[0], 3) if after else 0.0,
        "routed_to_killed_node_after_kill": len(after),
    }


def main() -> None:
    import django

    django.setup()
    summary: dict = {"bench": "lb", "rate": RATE, "seconds": SECONDS}
    with Cluster(3) as cluster:
        node_ports = [cluster.ports[f"node-{n}"] for n in range(1, 4)]
        legs = {
            "direct": [cluster.url(f"node-{n}") for n in range(1, 4)],
            "archviz_lb": cluster.url("lb"),
        }
        if shutil.which("nginx") is None:
            print("nginx is not installed (apt-get install nginx): skipping the nginx leg")
            summary |= measure_latency(legs, cluster.processes["lb"].pid)
        else:
            from archviz.core.ports import free_port

            with Nginx(node_ports, free_port("127.0.0.1")) as nginx:
                url = f"http://127.0.0.1:{nginx.port}"
                summary |= measure_latency(legs | {"nginx": url}, cluster.processes["lb"].pid)
                summary["nginx_rps"] = wrk_rps(url)
        summary["lb_p50_ratio_vs_direct"] = round(
            summary["archviz_lb"]["p50_ms"] / summary["direct"]["p50_ms"], 2
        )
        summary["lb_rps"] = wrk_rps(cluster.url("lb"))
        if summary["lb_rps"] and summary.get("nginx_rps"):
            summary["lb_rps_ratio_vs_nginx"] = round(summary["lb_rps"] / summary["nginx_rps"], 3)
        if shutil.which("wrk") is None:
            print("wrk is not installed (apt-get install wrk): skipping the throughput legs")
    with Cluster(3) as cluster:
        summary["failover"] = failover(cluster)
    summary["meets_targets"] = (
        summary["lb_added_p50_ms"] <= 1.5
        and summary.get("lb_rps_ratio_vs_nginx", 1.0) >= 0.6
        and summary["failover"]["last_routed_to_killed_node_s"] <= 3.0
        and summary["failover"]["failed"] == 0
    )
    report("lb", summary)


if __name__ == "__main__":
    main()
