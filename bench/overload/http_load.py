"""HTTP admission under overload (issue 12): one real node, its capacity measured, then the
same open-loop load at 0.5x, 1x, 2x and 4x that capacity with the limiter off and with each
admission policy on, in one run.

Each request asks for WORK_MS of work (a wait, as a call to a database would be). The
client's deadline is DEADLINE_MS: an answer later than that is useless to its user, so
**goodput** counts only the 200s within it. The client keeps the request open longer
(PATIENCE_S), as a browser does, so a node without a limiter keeps working on requests
whose users have given up: that is the collapse. p99 is of admitted work (the 200s).

The node's pressure thresholds are set to 100 (never) here, so that only the HTTP
admission policy decides: pressure-based refusal is measured by the detection part.
"""

import asyncio
import multiprocessing
import time

import aiohttp

from archviz.core import keys, registry
from bench.cluster import Cluster
from bench.common import percentile

POLICIES = ("none", "fixed", "codel", "aimd", "gradient")
LOADS = (0.5, 1.0, 2.0, 4.0)
CAPACITY = 4  # requests the node works on at once
WORK_MS = 40
DEADLINE_MS = 1000
PATIENCE_S = 5.0


def configure(cluster: Cluster, node: str, **fields: int | str) -> None:
    cluster.client.hset(keys.node_config(node), mapping=fields)


async def wait_policy(cluster: Cluster, node: str, url: str, policy: str) -> None:
    """Until the node's gate runs `policy` (it takes the config on a beat, the policy with
    its next request)."""
    deadline = time.monotonic() + 10
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(f"{url}/work?ms=0") as response:
                await response.read()
            metrics = registry.latest_metrics(cluster.client, [node]).get(node)
            if metrics and metrics.extra.get("admission") == policy:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{node} did not switch to {policy}")


def wait_idle(cluster: Cluster, node: str, timeout_s: float = 120) -> None:
    """Until a heartbeat sent from now on shows the node with nothing working, queued or
    waiting for its backend: the limiter off, a phase leaves the node working for seconds
    on requests whose clients have gone, and the next phase must not meet that backlog."""
    since, deadline = registry.now_ms(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        metrics = registry.latest_metrics(cluster.client, [node]).get(node)
        if metrics and metrics.ts > since:
            busy = (metrics.extra.get(k) for k in ("in_flight", "queued", "backend_waiting"))
            if not any(busy):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{node} still busy {timeout_s} s after the phase")


GENERATORS = 2  # load generator processes: one alone fell behind its own schedule at 4x


class Generators:
    """Load generator processes of their own, started once (spawned and imported before the
    first phase, so no phase pays for it), each sending every n-th request of one open-loop
    schedule: no one event loop is the bottleneck."""

    def __init__(self, url: str, count: int = GENERATORS) -> None:
        self.url, self.count = url, count
        context = multiprocessing.get_context("spawn")
        self.done = context.Queue()
        self.orders = [context.Queue() for _ in range(count)]
        self.workers = [
            context.Process(target=_generator, args=(url, i, count, self.orders[i], self.done))
            for i in range(count)
        ]

    def __enter__(self) -> "Generators":
        for worker in self.workers:
            worker.start()
        for _ in self.workers:
            self.done.get(timeout=120)  # each says it is ready once imported
        return self

    def __exit__(self, *exc) -> None:
        for orders in self.orders:
            orders.put(None)
        for worker in self.workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()

    def open_loop(self, rate: float, seconds: float) -> dict:
        """`rate` requests a second for `seconds`, whatever the answers. Latency is from each
        request's scheduled time; each request also says how late it was sent (the
        generators' own lateness, reported beside the p99), and their CPU is measured."""
        start_at = time.time() + 0.2  # a wall-clock start all the processes share
        for orders in self.orders:
            orders.put((rate, seconds, start_at))
        parts = [self.done.get(timeout=seconds + PATIENCE_S + 60) for _ in self.workers]
        results = [r for part in parts for r in part["results"]]
        return {"results": results, "generator_cpu_s": sum(p["cpu_s"] for p in parts)}


def _generator(url: str, index: int, every: int, orders, done) -> None:
    done.put("ready")
    while (order := orders.get()) is not None:
        rate, seconds, start_at = order
        cpu = time.process_time()
        results = asyncio.run(_open_loop_part(url, rate, seconds, start_at, index, every))
        done.put({"results": results, "cpu_s": time.process_time() - cpu})


async def _open_loop_part(url: str, rate: float, seconds: float, start_at: float, index: int,
                          every: int) -> list[dict]:  # fmt: skip
    results: list[dict] = []
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=PATIENCE_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(scheduled: float) -> None:
            sent_late_ms = (time.time() - scheduled) * 1000
            node_ms = None  # the node's own account: its queue wait plus the work
            try:
                async with session.get(f"{url}/work?ms={WORK_MS}") as response:
                    status = response.status
                    if status == 200:
                        answer = await response.json()
                        node_ms = answer["queued_ms"] + answer["worked_ms"]
                    else:
                        await response.read()
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            ms = (time.time() - scheduled) * 1000
            results.append({"ms": ms, "status": status, "node_ms": node_ms,
                            "sent_late_ms": sent_late_ms})  # fmt: skip

        tasks = []
        for i in range(index, int(rate * seconds), every):
            scheduled = start_at + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.time()))
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
    return results


async def measure_capacity(url: str, seconds: float) -> float:
    """Served requests per second, closed loop, with twice as many clients as slots."""
    served = 0
    stop = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal served
        while time.perf_counter() < stop:
            async with session.get(f"{url}/work?ms={WORK_MS}") as response:
                await response.read()
                served += response.status == 200

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(CAPACITY * 2)))
    return served / seconds


def summarise(run: dict, seconds: float) -> dict:
    results = run["results"]
    admitted = [r["ms"] for r in results if r["status"] == 200]
    good = [ms for ms in admitted if ms <= DEADLINE_MS]
    return {
        "offered_rps": round(len(results) / seconds, 1),
        "goodput_rps": round(len(good) / seconds, 1),
        "admitted": len(admitted),
        "late": len(admitted) - len(good),
        "refused": sum(r["status"] == 503 for r in results),
        "failed": sum(r["status"] not in (200, 503) for r in results),
        "p50_admitted_ms": round(percentile(admitted, 50), 1) if admitted else None,
        "p99_admitted_ms": round(percentile(admitted, 99), 1) if admitted else None,
        # where the p99 went: inside the node's gate (queue + work, by the node's own
        # clock), and the rest (this client's lateness, the connection, daphne and Django
        # before and after the view)
        "p99_in_node_ms": _p99([r["node_ms"] for r in results if r["node_ms"] is not None]),
        "p99_outside_node_ms": _p99(
            [r["ms"] - r["node_ms"] for r in results if r["node_ms"] is not None]
        ),
        # the generators' own lateness in sending, and the CPU they took (of 2 shared cores)
        "p99_sent_late_ms": _p99([r["sent_late_ms"] for r in results]),
        "generator_cores": round(run["generator_cpu_s"] / seconds, 2),  # over all of them
    }


def _p99(values: list[float]) -> float | None:
    return round(percentile(values, 99), 1) if values else None


def run(seconds: float) -> dict:
    """Every policy at every load, after the capacity is measured with the fixed limit."""
    with Cluster(1, capacity=CAPACITY, balancer=False) as cluster:
        node, url = "node-1", cluster.url("node-1")
        configure(cluster, node, reject_above=100, shed_above=100, admission="fixed")
        asyncio.run(wait_policy(cluster, node, url, "fixed"))
        capacity = asyncio.run(measure_capacity(url, seconds))
        print(f"capacity: {capacity:.1f} served/s ({CAPACITY} at once x {WORK_MS} ms of work)")
        runs: dict[str, dict[str, dict]] = {}
        with Generators(url) as generators:
            _every_phase(cluster, node, url, capacity, seconds, generators, runs)
    return {"capacity_rps": round(capacity, 1), "work_ms": WORK_MS, "deadline_ms": DEADLINE_MS,
            "generators": GENERATORS, "runs": runs} | _targets(runs)  # fmt: skip


def _every_phase(cluster: Cluster, node: str, url: str, capacity: float, seconds: float,
                 generators: Generators, runs: dict[str, dict[str, dict]]) -> None:  # fmt: skip
    for policy in POLICIES:
        configure(cluster, node, admission=policy)
        asyncio.run(wait_policy(cluster, node, url, policy))
        runs[policy] = {}
        for load in LOADS:
            sent = generators.open_loop(capacity * load, seconds)
            runs[policy][f"{load:g}x"] = figures = summarise(sent, seconds)
            print(f"{policy:>8} {load:>4g}x: {figures}")
            wait_idle(cluster, node)


def _score(figures: dict[str, dict], base_p99: float) -> tuple[float, float]:
    """How well a policy held: its worst goodput ratio and its worst p99 ratio."""
    at_1x = figures["1x"]["goodput_rps"] or 1e-9
    goodput = min(figures[load]["goodput_rps"] / at_1x for load in ("2x", "4x"))
    p99 = max((figures[load]["p99_admitted_ms"] or 1e9) / base_p99 for load in ("2x", "4x"))
    return round(goodput, 3), round(p99, 3)


def _targets(runs: dict[str, dict[str, dict]]) -> dict:
    """The p99 at 0.5x is one baseline for all: at half its capacity no policy queues or
    refuses, so the five 0.5x phases measure the same thing, and the lowest stands for it.
    A phase's p99 is its third-worst of some 280 requests, and a hiccup of the machine only
    ever raises it: one once doubled a policy's own, and on 2026-12-08 three of the five
    were 89-118 ms against 46-47, which made their median a baseline that passed a p99 of
    2.9 times the clean one. The lowest cannot turn a miss into a pass."""
    own = {p: figures["0.5x"]["p99_admitted_ms"] for p, figures in runs.items()}
    base_p99 = min([v for v in own.values() if v], default=1e-9)
    scores = {policy: _score(figures, base_p99) for policy, figures in runs.items()}
    on = {p: s for p, s in scores.items() if p != "none"}
    best = max(on, key=lambda p: (on[p][0] >= 0.9 and on[p][1] <= 2, on[p][0] >= 0.9, -on[p][1]))
    goodput, p99 = on[best]
    return {
        "p99_at_0_5x_ms": {"lowest": base_p99, "each": own},
        "scores": {
            p: {"goodput_2x_4x_over_1x": s[0], "p99_2x_4x_over_0_5x": s[1]}
            for p, s in scores.items()
        },
        "best_policy": best,
        "limiter_off_goodput_2x_4x_over_1x": scores["none"][0],
        "targets": {
            f"best ({best}) goodput at 2x and 4x >= 0.9 of 1x": (goodput, goodput >= 0.9),
            f"best ({best}) p99 admitted at 2x and 4x <= 2x of 0.5x": (p99, p99 <= 2),
        },
    }
