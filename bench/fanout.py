"""Chat fan-out and chaos (issue 4), against a bare baseline measured in the same run.

- fan-out: 300 WebSocket clients across 3 nodes in one room, rising message rates
  (open loop); delivered messages/s and latency from send to every receiver, for
  archviz's nodes and for a bare daphne + channels-redis pub/sub consumer (no tracing,
  sequence numbers, history or presence: bench/baseline/chat_app.py) on 3 daphne
  processes, forwarding frames of the same JSON shape. Both run at once and take turns
  at each rate, so that the machine's background load hits both alike. Targets: >= 85%
  of the baseline's delivered/s at its saturation point, and p99 <= 1.2x the baseline's
  at half that rate.
- chaos: 200 clients in 4 rooms through the archviz LB, each sending every ~4 s, while a
  node is SIGKILLed every 10 s for 60 s (and restarted 1 s later, as the supervisor
  would). Targets: every client reconnected within 3 s; 0 messages lost.

    .venv/bin/python -m bench.fanout [--skip-fanout] [--skip-chaos]
"""

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time

import aiohttp

from bench.cluster import Cluster
from bench.common import ROOT, percentile, report

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")

CLIENTS, NODES, WORKERS = 300, 3, 3
RATES = [2, 4, 8, 16, 32, 64]  # messages/s into the room; doubling, so half of any is one
STEP_S, WARMUP_S, DRAIN_S = 4.0, 0.5, 2.0
PER_SENDER = 15  # messages/s per sending connection (archviz refuses over 20)
CHAOS_CLIENTS, CHAOS_ROOMS, CHAOS_S, KILL_EVERY_S, SAY_EVERY_S = 200, 4, 60, 10, 4.0


def now_ms() -> float:
    return time.time() * 1000


# --- receivers: worker processes, so that reading 300 sockets is not the bottleneck ------


def _receiver_main(urls: list[str], archviz: bool, ready, stop, out, active) -> None:
    asyncio.run(_receive(urls, archviz, ready, stop, out, active))


async def _receive(urls, archviz, ready, stop, out, active) -> None:
    records: list[tuple[float, float]] = []  # (received at, latency) in ms
    closes = [0]
    async with aiohttp.ClientSession() as session:
        sockets = []
        for url in urls:
            sockets.append(await session.ws_connect(url, max_msg_size=0))
        tasks = [asyncio.create_task(_read(ws, archviz, records, closes, active))
                 for ws in sockets]  # fmt: skip
        ready.set()
        await asyncio.to_thread(stop.wait)  # a multiprocessing event, set by the driver
        for task in tasks:
            task.cancel()
        for ws in sockets:
            await ws.close()
    out.put((records, closes[0]))


async def _read(ws, archviz: bool, records: list, closes: list, active=None) -> None:
    received, last_ack = 0, time.monotonic()
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        now = now_ms()
        if active is not None:
            active.value = now
        received += 1
        frame = json.loads(message.data)
        if not archviz:
            records.append((now, now - float(frame["text"])))
            continue
        if frame["type"] == "message" and not frame.get("history"):
            records.append((now, now - float(frame["text"])))
        if time.monotonic() - last_ack > 1.0:
            last_ack = time.monotonic()
            await ws.send_str(json.dumps({"type": "ack", "received": received}))
    closes[0] += 1


# --- senders: both systems connected at once, their steps interleaved --------------------


class System:
    """One stack under test: its receiver processes and its senders' URLs."""

    def __init__(self, name: str, ports: list[int], archviz: bool) -> None:
        self.name, self.archviz = name, archviz
        self.receiver_urls = _room_urls(ports, "fan", CLIENTS, "r")
        self.sender_urls = _room_urls(ports, "fan", NODES, "s")
        self.steps: list[dict] = []
        ctx = mp.get_context("spawn")
        self.stop, self.out, self.workers = ctx.Event(), ctx.Queue(), []
        self.active = [ctx.Value("d", now_ms()) for _ in range(WORKERS)]  # last frame, ms
        for w in range(WORKERS):
            ready = ctx.Event()
            args = (self.receiver_urls[w::WORKERS], archviz, ready, self.stop, self.out,
                    self.active[w])  # fmt: skip
            process = ctx.Process(target=_receiver_main, args=args)
            process.start()
            if not ready.wait(120):
                raise RuntimeError(f"{name}: receivers did not connect")
            self.workers.append(process)

    def results(self) -> tuple[list[dict], int]:
        self.stop.set()
        results = [self.out.get(timeout=60) for _ in self.workers]
        for process in self.workers:
            process.join(10)
        records = [r for rs, _ in results for r in rs]
        return [_step_figures(step, records) for step in self.steps], sum(c for _, c in results)


async def _drive(systems: list[System]) -> None:
    """Open-loop sends at each rate, each system in turn at the same rate."""
    async with aiohttp.ClientSession() as session:
        sockets, readers = {}, []
        for system in systems:
            urls = system.sender_urls
            sockets[system.name] = [
                await session.ws_connect(urls[i % len(urls)], max_msg_size=0)
                for i in range(math.ceil(max(RATES) / PER_SENDER))
            ]  # fmt: skip
            readers += [asyncio.create_task(_read(ws, system.archviz, [], [0]))
                        for ws in sockets[system.name]]  # fmt: skip
        await _quiet(systems)  # the 300 joins' presence announcements (300 x 300) settle
        for rate in RATES:
            for system in systems:
                start = now_ms()
                chosen = sockets[system.name][: math.ceil(rate / PER_SENDER)]
                sent = await _open_loop(chosen, rate, system.archviz)
                system.steps.append({"rate": rate, "start": start, "end": now_ms(), "sent": sent})
                await asyncio.sleep(DRAIN_S)
        for task in readers:
            task.cancel()


async def _quiet(systems: list[System], quiet_ms: float = 2_000, limit_s: float = 300) -> None:
    """Wait until no receiver has had a frame for a while: setup is not measured."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        last = max(v.value for system in systems for v in system.active)
        if now_ms() - last > quiet_ms:
            return
        await asyncio.sleep(0.2)
    print("warning: the receivers never went quiet; measuring anyway")


async def _open_loop(sockets, rate: float, archviz: bool) -> int:
    t0, count = time.perf_counter(), int(rate * STEP_S)
    for i in range(count):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        text = f"{now_ms():.3f}"
        if archviz:
            frame = json.dumps({"type": "send", "text": text})
        else:  # the same JSON as archviz's frames, so both sides parse as much
            frame = json.dumps({"type": "message", "room": "fan", "user": "s", "text": text,
                                "node": "daphne", "ts": now_ms(), "trace": "0" * 16,
                                "mode": "redis", "traced": False, "seq": i})  # fmt: skip
        await sockets[i % len(sockets)].send_str(frame)
    return count


def _step_figures(step: dict, records: list) -> dict:
    window = (step["start"] + WARMUP_S * 1000, step["end"])
    in_window = sum(1 for at, _ in records if window[0] <= at < window[1])
    latencies = [lat for at, lat in records if step["start"] <= at - lat < step["end"]]
    return {
        "rate": step["rate"],
        "delivered_per_s": round(in_window / ((window[1] - window[0]) / 1000)),
        "delivered_share": round(len(latencies) / max(1, step["sent"] * CLIENTS), 4),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
    }


def _spawn_baseline(redis_url: str) -> tuple[list[subprocess.Popen], list[int]]:
    from archviz.core.ports import free_port

    ports = [free_port("127.0.0.1") for _ in range(NODES)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "chat_app:application",
            ],
            cwd=ROOT / "bench" / "baseline",
            env=os.environ | {"REDIS_URL": redis_url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    _wait_ports(ports)
    return processes, ports


def _wait_ports(ports: list[int], timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nothing listening on {port}") from None
                time.sleep(0.1)


def _room_urls(ports: list[int], room: str, count: int, prefix: str) -> list[str]:
    return [f"ws://127.0.0.1:{ports[i % len(ports)]}/ws/chat/{room}/?user={prefix}{i}"
            for i in range(count)]  # fmt: skip


def fanout() -> dict:
    with Cluster(NODES, capacity=1000, balancer=False) as cluster:
        processes, ports = _spawn_baseline(cluster.redis.url)
        try:
            node_ports = [cluster.ports[f"node-{n}"] for n in range(1, NODES + 1)]
            archviz = System("archviz", node_ports, archviz=True)
            baseline = System("baseline", ports, archviz=False)
            asyncio.run(_drive([baseline, archviz]))
            archviz_steps, archviz_closed = archviz.results()
            baseline_steps, _ = baseline.results()
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
    return _compare(archviz_steps, baseline_steps, archviz_closed)


def _compare(archviz: list[dict], baseline: list[dict], closed: int) -> dict:
    head = f"{'baseline/s':>10} {'p50':>8} {'p99':>8}"
    print(f"{'rate':>6} | {head} | {head.replace('baseline', ' archviz')}")
    for b, a in zip(baseline, archviz, strict=True):
        print(f"{b['rate']:>6} | {b['delivered_per_s']:>10} {b['p50_ms']:>8} {b['p99_ms']:>8} | "
              f"{a['delivered_per_s']:>10} {a['p50_ms']:>8} {a['p99_ms']:>8}")  # fmt: skip
    sat = max(range(len(baseline)), key=lambda i: baseline[i]["delivered_per_s"])
    half = max(0, sat - 1)
    best_archviz = max(a["delivered_per_s"] for a in archviz)
    throughput_ratio = round(best_archviz / baseline[sat]["delivered_per_s"], 3)
    p99_ratio = round(archviz[half]["p99_ms"] / baseline[half]["p99_ms"], 3)
    return {
        "baseline_saturation_rate": baseline[sat]["rate"],
        "baseline_delivered_per_s": baseline[sat]["delivered_per_s"],
        "archviz_delivered_per_s": best_archviz,
        "throughput_ratio": throughput_ratio,
        "half_rate": baseline[half]["rate"],
        "p99_ms_baseline_at_half": baseline[half]["p99_ms"],
        "p99_ms_archviz_at_half": archviz[half]["p99_ms"],
        "p99_ratio": p99_ratio,
        "throughput_ok": throughput_ratio >= 0.85,
        "p99_ok": p99_ratio <= 1.2,
        "archviz_clients_closed": closed,
        "steps": {"baseline": baseline, "archviz": archviz},
    }


# --- chaos -----------------------------------------------------------------------------


class RestartingCluster(Cluster):
    def restart(self, name: str) -> None:
        """Start a killed node again (a new process with the same id), as the supervisor would."""
        self.processes[name].wait()
        self._spawn(name, "node", "--id", name)


async def _chaos_run(cluster: RestartingCluster) -> dict:
    from archviz.chat.client import ChatClient

    lb = cluster.url("lb")
    clients = [ChatClient(lb, f"chaos-{i % CHAOS_ROOMS}", f"c{i}") for i in range(CHAOS_CLIENTS)]
    runners = [asyncio.create_task(_run_marked(c)) for c in clients]
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 60)
    first_seq = {id(c): c.last for c in clients}
    counts = {"attempted": 0, "failed": 0}
    talkers = [asyncio.create_task(_talk(c, counts)) for c in clients]
    kills = []
    start = time.monotonic()
    for k in range(CHAOS_S // KILL_EVERY_S):
        await asyncio.sleep(max(0.0, start + 5 + k * KILL_EVERY_S - time.monotonic()))
        victim = f"node-{k % NODES + 1}"
        kills.append((victim, time.monotonic()))
        cluster.kill(victim)
        await asyncio.sleep(1.0)
        cluster.restart(victim)
    await asyncio.sleep(max(0.0, start + CHAOS_S - time.monotonic()))
    for task in talkers:
        task.cancel()
    await asyncio.sleep(5)  # the last reconnections and gap fills land
    figures = _chaos_figures(clients, first_seq, kills, cluster)
    figures |= {
        "sends_attempted": counts["attempted"],
        "sends_failed_in_a_dying_socket": counts["failed"],
    }
    for client in clients:
        await client.stop()
    for runner in runners:
        runner.cancel()
    return figures


async def _run_marked(client) -> None:
    client.run_done = False
    try:
        await client.run()
    finally:
        client.run_done = True


async def _talk(client, counts: dict) -> None:
    await asyncio.sleep(random.uniform(0, SAY_EVERY_S))
    while True:
        counts["attempted"] += 1
        try:
            await asyncio.wait_for(client.send(f"{client.user} at {now_ms():.0f}"), 5)
        except (ConnectionError, RuntimeError, TimeoutError, aiohttp.ClientError):
            counts["failed"] += 1
        await asyncio.sleep(SAY_EVERY_S * random.uniform(0.8, 1.2))


def _chaos_figures(clients, first_seq: dict, kills: list, cluster) -> dict:
    import redis

    from archviz.chat import keys as chat_keys

    client = redis.Redis.from_url(cluster.redis.url)
    last = {
        f"chaos-{r}": int(client.get(chat_keys.seq(f"chaos-{r}")) or 0) for r in range(CHAOS_ROOMS)
    }
    lost = dups = 0
    gaps = []
    for c in clients:
        expected = set(range(first_seq[id(c)] + 1, last[c.room] + 1))
        lost += len(expected - c.seqs)
        dups += c.duplicates
        for closed_at, _code in c.closes:
            reopened = [t for t in c.opens if t > closed_at]
            gaps.append((min(reopened) if reopened else float("inf")) - closed_at)
    ledger = {}
    for r in range(CHAOS_ROOMS):
        for k, v in client.hgetall(chat_keys.ledger(f"chaos-{r}")).items():
            ledger[k.decode()] = ledger.get(k.decode(), 0) + int(v)
    worst = max(gaps, default=0.0)
    codes: dict = {}
    for c in clients:
        for _t, code in c.closes:
            codes[code] = codes.get(code, 0) + 1
    away = [c for c in clients if not c.connected.is_set()]
    print(f"chaos: close codes {codes}; clients never back: {len(away)}")
    for c in away[:3]:
        print(f"  {c.user}: {c.errors[-3:]}; run task done: {c.run_done}")
    print(f"chaos: {len(kills)} kills, {len(gaps)} reconnects, worst {worst:.2f} s, "
          f"p99 {percentile(gaps, 99) if gaps else 0:.2f} s; messages {sum(last.values())}, "
          f"lost at clients {lost}, duplicates at clients {dups}; ledger {ledger}")  # fmt: skip
    return {
        "kills": len(kills),
        "reconnects": len(gaps),
        "reconnect_worst_s": round(worst, 3),
        "reconnect_p50_s": round(percentile(gaps, 50), 3) if gaps else 0.0,
        "reconnect_p99_s": round(percentile(gaps, 99), 3) if gaps else 0.0,
        "reconnected_within_3s_share": round(sum(g <= 3.0 for g in gaps) / max(1, len(gaps)), 3),
        "messages": sum(last.values()),
        "lost_at_clients": lost,
        "duplicates_at_clients": dups,
        "ledger": ledger,
        "reconnect_ok": worst <= 3.0,
        "lost_ok": lost == 0 and ledger.get("lost", 0) == 0,
    }


def chaos() -> dict:
    with RestartingCluster(NODES, capacity=1000, balancer=True) as cluster:
        return asyncio.run(_chaos_run(cluster))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--skip-chaos", action="store_true")
    args = parser.parse_args()
    summary: dict = {"machine_note": "2 shared cores: ratios, not absolute figures"}
    if not args.skip_fanout:
        summary["fanout"] = fanout()
    if not args.skip_chaos:
        summary["chaos"] = chaos()
    report("fanout", summary)


if __name__ == "__main__":
    main()
