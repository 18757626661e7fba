"""The reconnect storm after a shed (issue 12): CLIENTS WebSockets held on node-1 alone, all
shed at once by the instructor's command, each coming back through the load balancer by a
reconnect policy. Immediate reconnects (the herd) and full jitter, in one run, each with a
fresh set of clients.

Each client is a real WebSocket to a real node. When node-1 closes it with 4014 (shed), it
waits `reconnect_delay_ms(policy, attempt, rng, hint_ms=<the node's retry_after_ms>)`
(archviz/core/reconnect.py, mirrored by the pages' JS) and reconnects through the balancer;
a refusal (4013) is one more attempt. Handshakes are timed where they land, by the node's
hello. Targets with full jitter: all back within WINDOW_S, and no node's peak handshakes
per second over 2x its mean over that window.
"""

import asyncio
import json
import random
import time
from collections import Counter

import aiohttp

from archviz.core import close_codes, keys
from archviz.core.control import send_command
from archviz.core.reconnect import ReconnectPolicy, reconnect_delay_ms
from bench.cluster import Cluster
from bench.common import percentile

WINDOW_S = 5.0
OPEN_PER_S = 250  # how fast the clients first connect to node-1
GIVE_UP_S = 30.0


class Client:
    def __init__(self, i: int, policy: str, shed_at: list[float]) -> None:
        self.policy = ReconnectPolicy(policy)
        self.rng = random.Random(i)
        self.shed_at = shed_at  # filled in when the shed command is sent
        self.node = ""
        self.back: tuple[float, str] | None = None  # when and where it was back after the shed
        self.refused = 0
        # where the time went: when node-1's close reached it, the delay its policy drew,
        # and when its last reconnect attempt began (its handshake is back - that)
        self.closed_at = 0.0
        self.delay_s = 0.0
        self.dialled_at = 0.0

    async def run(self, session: aiohttp.ClientSession, first: str, lb: str) -> None:
        url, attempt = first, 0
        while self.back is None:
            hint, code = await self._hold(session, url)
            if self.back is not None:
                return
            if code not in (close_codes.SHED, close_codes.OVERLOADED):
                hint = 0.0  # a dropped connection: no hint, back off all the same
            self.refused += code == close_codes.OVERLOADED
            delay = reconnect_delay_ms(self.policy, attempt, self.rng, hint_ms=hint)
            if attempt == 0:
                self.closed_at, self.delay_s = time.perf_counter(), delay / 1000
            await asyncio.sleep(delay / 1000)
            url, attempt = lb, attempt + 1
            self.dialled_at = time.perf_counter()

    async def _hold(self, session: aiohttp.ClientSession, url: str) -> tuple[float, int]:
        """Connect and hold until closed; the server's hint and the close code."""
        hint = 0.0
        try:
            async with session.ws_connect(url, heartbeat=None) as ws:
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(message.data)
                    if data.get("type") == "hello":
                        self.node = data["node"]
                        if self.shed_at:  # a reconnect after the shed: it is back
                            self.back = (time.perf_counter(), self.node)
                            return 0.0, 0
                    elif data.get("type") in ("shed", "overloaded"):
                        hint = float(data.get("retry_after_ms") or 0)
                return hint, ws.close_code or 0
        except (aiohttp.ClientError, OSError):
            return 0.0, 0


async def _storm(cluster: Cluster, policy: str, count: int) -> dict:
    shed_at: list[float] = []
    clients = [Client(i, policy, shed_at) for i in range(count)]
    node_url = cluster.url("node-1").replace("http", "ws") + "/ws/hold/?client=bot"
    lb_url = cluster.url("lb").replace("http", "ws") + "/ws/hold/?client=bot"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        try:
            for client in clients:
                tasks.append(asyncio.create_task(client.run(session, node_url, lb_url)))
                await asyncio.sleep(1 / OPEN_PER_S)
            await _until(lambda: sum(c.node == "node-1" for c in clients) == count, 60,
                         f"all {count} on node-1")  # fmt: skip
            shed_at.append(time.perf_counter())
            send_command(cluster.client, {"type": "node.shed", "by": "bench", "trace": "",
                                          "node": "node-1", "percent": 100})  # fmt: skip
            await _until(lambda: all(c.back for c in clients), GIVE_UP_S, "all back", strict=False)
        finally:  # before the session closes, whatever happened
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return _figures(clients, shed_at[0], count)


async def _until(done, timeout_s: float, what: str, strict: bool = True) -> None:
    deadline = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > deadline:
            if strict:
                raise RuntimeError(f"storm: not {what} in {timeout_s:g} s")
            return
        await asyncio.sleep(0.02)


def _figures(clients: list[Client], shed_at: float, count: int) -> dict:
    back = [(at - shed_at, node) for c in clients if c.back for at, node in [c.back]]
    last_s = max((t for t, _ in back), default=float("inf"))
    per_node: dict[str, dict] = {}
    for node in sorted({n for _, n in back}):
        times = [t for t, n in back if n == node]
        per_second = Counter(int(t) for t in times if t < WINDOW_S)
        quarter = Counter(int(t * 4) for t in times if t < WINDOW_S)
        mean = len([t for t in times if t < WINDOW_S]) / WINDOW_S
        per_node[node] = {
            "handshakes": len(times),
            "peak_per_s": max(per_second.values(), default=0),
            "mean_per_s": round(mean, 1),
            "peak_over_mean": round(max(per_second.values(), default=0) / (mean or 1e-9), 2),
            "peak_per_250ms_as_per_s": 4 * max(quarter.values(), default=0),
        }
    returned = [c for c in clients if c.back]
    return {
        "clients": count,
        "back": len(back),
        "all_back_s": round(last_s, 3),
        # where the time went (seconds): the shed's closes reaching the clients, the delays
        # drawn, and each reconnect's handshake through the balancer
        "last_close_seen_s": round(max((c.closed_at - shed_at for c in returned), default=0), 3),
        "longest_delay_s": round(max((c.delay_s for c in returned), default=0), 3),
        "handshake_s": _spread([c.back[0] - c.dialled_at for c in returned]),
        "refused_on_the_way": sum(c.refused for c in clients),
        "worst_peak_over_mean": max((v["peak_over_mean"] for v in per_node.values()), default=0),
        "per_node": per_node,
    }


def _spread(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    return {
        "p50": round(percentile(seconds, 50), 3),
        "p99": round(percentile(seconds, 99), 3),
        "max": round(max(seconds), 3),
    }


def run(count: int) -> dict:
    """The same shed with immediate reconnects, then with full jitter."""
    with Cluster(3) as cluster:
        for n in (1, 2, 3):  # room for every client on any node; only the command sheds
            cluster.client.hset(keys.node_config(f"node-{n}"),
                                mapping={"ws_limit": 4 * count, "reject_above": 100,
                                         "shed_above": 100})  # fmt: skip
        results = {}
        for policy in ("immediate", "full_jitter"):
            results[policy] = figures = asyncio.run(_storm(cluster, policy, count))
            print(f"{policy:>11}: {figures}")
            time.sleep(1)
    jitter = results["full_jitter"]
    return results | {
        "targets": {
            f"full jitter: all {count} back within {WINDOW_S:g} s": (
                jitter["all_back_s"],
                jitter["back"] == count and jitter["all_back_s"] <= WINDOW_S,
            ),
            "full jitter: no node's peak handshakes/s over 2x its mean": (
                jitter["worst_peak_over_mean"],
                jitter["worst_peak_over_mean"] <= 2,
            ),
        }
    }
