"""A class beyond one dashboard process (issue 14), against a bare baseline in the same run.

300 real WebSocket learner clients on the lab socket, through the load balancer's dashboards
listener to 2 dashboard processes (`manage.py dashboard`, as the lab runs them with
ARCHVIZ_DASHBOARDS=2), while the lab emits 2,000 trace events/s (archviz's own Emitter, in
batches every 50 ms or 200 events, as every process of the lab publishes them). The baseline
is a bare daphne broadcast of the same frames (bench/baseline/broadcast_app.py) on 2 daphne
processes, 300 clients of its own, straight (no balancer). Both stay connected for the whole
run; the emitter takes turns between them (the baseline's batches go to a channel of its own),
so that the machine's background load hits both alike.

The learners offer permessage-deflate, as every browser does (whoever accepts it deflates
every frame for every tab).

- latency: emit -> learner receipt, per trace frame, of the frame's oldest event (the first
  emitted of its batch: an upper bound of its events'), p50 and p99;
- disconnects: learner sockets that closed during the run, and `lagging` notices (frames a
  tab missed) as the dashboards send them;
- CPU per delivered trace frame: the 2 dashboards' CPU time (from /proc) over the frames
  their learners received, against the baseline's; the dashboards' CPU includes their state
  frames (2 a second per tab), which the baseline does not send. The balancer's CPU is shown
  apart, and the clients' too: they run in worker processes of their own, and the summary
  says how many cores they took.

Targets: p99 <= 150 ms; 0 learners disconnected; CPU per frame <= 1.5x the baseline's.

    .venv/bin/python -m bench.classroom [--quick] [--straight]
"""

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from bench.common import ROOT, percentile, report, stop_processes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")

BASELINE_CHANNEL = "bench:classroom:baseline"
WORKERS = 3  # client processes
TS_MARK = '"ts": '  # json.dumps's spelling: the first is the frame's oldest event's


@dataclass(frozen=True)
class Plan:
    clients: int
    rate: int  # trace events a second
    rounds: int  # turns of each system
    phase_s: float
    warmup_s: float = 1.0  # of each phase, left out of the figures


FULL = Plan(clients=300, rate=2_000, rounds=3, phase_s=10.0)
QUICK = Plan(clients=60, rate=500, rounds=1, phase_s=4.0)


def now_ms() -> float:
    return time.time() * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the emitter: a process of its own, the lab's Emitter -------------------------------


def _emitter_main(redis_url: str, commands, done) -> None:
    """Emit `rate` events a second for `seconds` on each command, on the channel it names."""
    import django

    django.setup()
    import redis

    from archviz.trace import emitter as emitter_module

    while (command := commands.get()) is not None:
        channel, rate, seconds = command
        # The lab's Emitter publishes to the trace channel only; the baseline's turn goes to
        # a channel of its own so that the idle dashboards receive nothing meanwhile.
        emitter_module.TRACE_CHANNEL = channel
        trace = emitter_module.Emitter(
            "lb", client_factory=lambda: redis.Redis.from_url(redis_url)
        ).start()
        _emit_steadily(trace, rate, seconds)
        trace.close(2.0)
        done.put(trace.stats)


def _emit_steadily(trace, rate: int, seconds: float) -> None:
    detail = {"reason": "round robin", "outcome": "ok", "status": 200, "path": "/work"}
    start, emitted = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(int(elapsed * rate) - emitted):
            trace.emit("lb.route", "node-1", detail=detail, demo="lb", ms=1.2)
            emitted += 1
        time.sleep(0.002)


# --- the learners: worker processes, each holding its share of both systems' sockets ------


def _worker_main(urls: dict[str, list[str]], ready, stop, out) -> None:
    asyncio.run(_learners(urls, ready, stop, out))


async def _learners(urls, ready, stop, out) -> None:
    records: list[tuple[str, float, float]] = []  # (system, received at ms, latency ms)
    tallies = {system: {"closed": 0, "lagging": 0, "missed": 0} for system in urls}
    # no pool limit: aiohttp's default of 100 connections held the 101st socket back
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = []
        for system, system_urls in urls.items():
            for url in system_urls:
                # a page of the dashboard it is served by: the socket's own host and port
                origin = "http://" + urlsplit(url).netloc if system == "archviz" else None
                # compress=15: offer permessage-deflate, as every browser does
                ws = await session.ws_connect(url, origin=origin, max_msg_size=0, compress=15)
                sockets.append((system, ws))
        tasks = [
            asyncio.create_task(_read(ws, system, records, tallies[system]))
            for system, ws in sockets
        ]
        ready.set()
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, ws in sockets:
            await ws.close()
    out.put((records, tallies))


async def _read(ws, system: str, records: list, tally: dict) -> None:
    """Time each trace frame by its oldest event, read without decoding the whole frame."""
    try:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            received, data = now_ms(), message.data
            if data.startswith('{"type": "trace"'):
                at = data.find(TS_MARK) + len(TS_MARK)
                end = data.find(",", at)
                records.append((system, received, received - float(data[at:end])))
            elif data.startswith('{"type": "lagging"'):
                tally["lagging"] += 1
                tally["missed"] += int(data.rsplit(":", 1)[1].strip(" }"))
    except asyncio.CancelledError:
        raise  # the run is over: not a disconnect
    except (aiohttp.ClientError, ConnectionError):
        pass
    tally["closed"] += 1  # the server closed it, or the connection broke


# --- the processes under test -----------------------------------------------------------


class Stack:
    """Redis, 2 dashboards behind the balancer's dashboards listener, 2 baseline daphnes."""

    def __init__(self) -> None:
        from archviz.core.ports import free_port
        from archviz.lab.embedded_redis import EmbeddedRedis

        self.var_dir = tempfile.mkdtemp(prefix="archviz-classroom-")
        self.redis = EmbeddedRedis().start()
        self.env = os.environ | {
            "REDIS_URL": self.redis.url,
            "ARCHVIZ_LOG_LEVEL": "WARNING",
            "ARCHVIZ_VAR_DIR": self.var_dir,
            "ARCHVIZ_SECRET_KEY": secrets.token_urlsafe(40),  # one lab: the balancer vouches
            "ARCHVIZ_SUPERVISOR_PID": str(os.getpid()),  # they exit if the bench dies
        }
        self.port = free_port("127.0.0.1")
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self._free_port = free_port

    def start(self) -> "Stack":
        import redis

        from archviz.core import registry

        client = redis.Redis.from_url(self.redis.url)
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
            env=self.env,
            check=True,
        )
        for n in (1, 2):
            self._manage(f"dashboard-{n}", "dashboard", "--id", f"dashboard-{n}")
        self._manage(
            "lb", "balancer", "--id", "lb", "--gateway-port", "0", "--services-port", "0",
            "--dashboards-port", str(self.port),
        )  # fmt: skip
        for name, process in self.processes.items():
            kind = "balancer" if name == "lb" else "dashboard"
            registry.vouch(client, name, kind, process.pid, self.ports[name])
        for n in (1, 2):
            port = self._free_port("127.0.0.1")
            self.ports[f"baseline-{n}"] = port
            self.processes[f"baseline-{n}"] = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                 "broadcast_app:application"],
                cwd=ROOT / "bench" / "baseline",
                env=self.env | {"BROADCAST_CHANNEL": BASELINE_CHANNEL},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        self._wait_serving()
        return self

    def _manage(self, name: str, command: str, *args: str) -> None:
        port = self._free_port("127.0.0.1")
        self.ports[name] = port
        self.processes[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), command, *args, "--port", str(port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
        )

    def _wait_serving(self, timeout_s: float = 90) -> None:
        """The listener has both dashboards healthy (its metrics say so), and the baseline's
        daphnes listen."""
        import json
        import socket

        import redis

        client = redis.Redis.from_url(self.redis.url)
        deadline = time.monotonic() + timeout_s
        while True:
            raw = client.get("archviz:metrics:lb")
            listener = json.loads(raw)["extra"].get("dashboards_listener", {}) if raw else {}
            healthy = [b for b in listener.get("backends", []) if b["health"] == "healthy"]
            if len(healthy) == 2:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the listener never had both dashboards healthy: {listener}")
            time.sleep(0.2)
        for n in (1, 2):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.ports[f"baseline-{n}"]), 1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the baseline did not listen") from None
                    time.sleep(0.1)

    def pids(self, prefix: str) -> list[int]:
        return [p.pid for name, p in self.processes.items() if name.startswith(prefix)]

    def urls(self, clients: int, straight: bool = False) -> dict[str, list[str]]:
        """Each system's learner URLs: archviz's through the listener, or with `straight`
        to the dashboards themselves (as the baseline is), to show what the hop costs."""
        baseline = [self.ports["baseline-1"], self.ports["baseline-2"]]
        dashboards = [self.ports["dashboard-1"], self.ports["dashboard-2"]]
        archviz = (
            [f"ws://127.0.0.1:{dashboards[i % 2]}/ws/lab/" for i in range(clients)]
            if straight
            else [f"ws://127.0.0.1:{self.port}/ws/lab/"] * clients
        )
        return {
            "archviz": archviz,
            "baseline": [f"ws://127.0.0.1:{baseline[i % 2]}/" for i in range(clients)],
        }

    def stop(self) -> None:
        stop_processes(self.processes.values())
        self.redis.stop()


# --- the run ----------------------------------------------------------------------------


def run(plan: Plan, straight: bool = False) -> dict:
    stack = Stack().start()
    ctx = mp.get_context("spawn")
    commands, done = ctx.Queue(), ctx.Queue()
    emitter = ctx.Process(target=_emitter_main, args=(stack.redis.url, commands, done))
    emitter.start()
    stop, out, workers = ctx.Event(), ctx.Queue(), []
    urls = stack.urls(plan.clients, straight)
    try:
        for w in range(WORKERS):
            share = {system: system_urls[w::WORKERS] for system, system_urls in urls.items()}
            ready = ctx.Event()
            worker = ctx.Process(
                target=_worker_main,
                args=(share, ready, stop, out),
            )
            worker.start()
            if not ready.wait(180):
                raise RuntimeError("the learners did not connect")
            workers.append(worker)
        phases = _take_turns(plan, stack, commands, done, [w.pid for w in workers])
        stop.set()
        results = [out.get(timeout=120) for _ in workers]
    finally:
        commands.put(None)
        stop.set()
        for process in [*workers, emitter]:
            process.join(15)
            if process.is_alive():
                process.kill()
        stack.stop()
    return _figures(plan, phases, results)


def _take_turns(plan: Plan, stack: Stack, commands, done, client_pids: list[int]) -> list[dict]:
    """Each round: the emitter feeds the dashboards, then the baseline, for phase_s each."""
    watched = {
        "archviz": stack.pids("dashboard-"),
        "baseline": stack.pids("baseline-"),
        "balancer": stack.pids("lb"),
        "clients": client_pids,
    }
    channels = {"archviz": "archviz:trace", "baseline": BASELINE_CHANNEL}
    phases = []
    time.sleep(2.0)  # the connections' first state frames are not measured
    for _ in range(plan.rounds):
        for system, channel in channels.items():
            commands.put((channel, plan.rate, plan.phase_s))
            time.sleep(plan.warmup_s)
            start, cpu = now_ms(), _cpu(watched)
            time.sleep(plan.phase_s - plan.warmup_s)
            end, cpu_after = now_ms(), _cpu(watched)
            emitted = done.get(timeout=60)
            used = {name: round(cpu_after[name] - cpu[name], 3) for name in cpu}
            phases.append({"system": system, "start": start, "end": end, "cpu_s": used,
                           "emitter": emitted})  # fmt: skip
            time.sleep(1.0)  # the last frames land before the other's turn
    return phases


def _cpu(watched: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in watched.items()}


def _figures(plan: Plan, phases: list[dict], results: list) -> dict:
    records = [r for rs, _ in results for r in rs]
    keys = ("closed", "lagging", "missed")
    tallies = {
        system: {key: sum(t[system][key] for _, t in results) for key in keys}
        for system in ("archviz", "baseline")
    }
    by_system = {}
    for system in ("archviz", "baseline"):
        mine = [p for p in phases if p["system"] == system]
        latencies = [lat for s, at, lat in records if s == system and _within(at, mine)]
        seconds = sum(p["end"] - p["start"] for p in mine) / 1000
        cpu = sum(p["cpu_s"][system] for p in mine)
        by_system[system] = {
            "frames_delivered": len(latencies),
            "frames_per_s": round(len(latencies) / seconds),
            "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
            "cpu_s": round(cpu, 3),
            "cpu_us_per_frame": round(cpu / max(1, len(latencies)) * 1e6, 2),
            "cores": round(cpu / seconds, 2),
        }
    archviz_phases = [p for p in phases if p["system"] == "archviz"]
    # The dashboards during the baseline's turns: no trace frames, their state frames to
    # every tab and their heartbeats only (what they cost a class before any event).
    baseline_phases = [p for p in phases if p["system"] == "baseline"]
    idle_s = sum(p["end"] - p["start"] for p in baseline_phases) / 1000
    idle = sum(p["cpu_s"]["archviz"] for p in baseline_phases)
    by_system["archviz"]["idle_cores"] = round(idle / idle_s, 3)
    seconds = sum(p["end"] - p["start"] for p in phases) / 1000
    balancer_s = sum(p["cpu_s"]["balancer"] for p in archviz_phases)
    client_cores = round(sum(p["cpu_s"]["clients"] for p in phases) / seconds, 2)
    archviz, baseline = by_system["archviz"], by_system["baseline"]
    ratio = round(archviz["cpu_us_per_frame"] / max(1e-9, baseline["cpu_us_per_frame"]), 3)
    disconnected = tallies["archviz"]["closed"]
    _print(plan, by_system, tallies, balancer_s, client_cores, ratio)
    return {
        "clients": plan.clients,
        "dashboards": 2,
        "events_per_s": plan.rate,
        "rounds": plan.rounds,
        "phase_s": plan.phase_s,
        "archviz": archviz,
        "baseline": baseline,
        "cpu_per_frame_ratio": ratio,
        "balancer_cpu_s": round(balancer_s, 3),
        "client_cores": client_cores,
        "client_workers": WORKERS,
        "learners_disconnected": disconnected,
        "lagging_notices": tallies["archviz"]["lagging"],
        "frames_missed": tallies["archviz"]["missed"],
        "baseline_disconnected": tallies["baseline"]["closed"],
        "emitted": [p["emitter"] for p in phases],
        "p99_ok": archviz["p99_ms"] <= 150,
        "disconnects_ok": disconnected == 0,
        "cpu_ok": ratio <= 1.5,
        "meets_targets": archviz["p99_ms"] <= 150 and disconnected == 0 and ratio <= 1.5,
    }


def _within(at: float, phases: list[dict]) -> bool:
    return any(p["start"] <= at < p["end"] for p in phases)


def _print(plan, by_system, tallies, balancer_s, client_cores, ratio) -> None:
    print(f"{plan.clients} learners per system, {plan.rate} events/s, {plan.rounds} round(s)"
          f" of {plan.phase_s:g} s each")  # fmt: skip
    print(f"{'system':>9} {'frames/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cores':>6} {'µs/frame':>9}")
    for system, f in by_system.items():
        print(f"{system:>9} {f['frames_per_s']:>9} {f['p50_ms']:>8} {f['p99_ms']:>8} "
              f"{f['cores']:>6} {f['cpu_us_per_frame']:>9}")  # fmt: skip
    print(
        f"CPU per frame, dashboards / baseline: {ratio}x; balancer {balancer_s:.2f} s CPU in"
        f" the dashboards' turns; the clients took {client_cores} cores ({WORKERS} processes)"
    )
    print(f"the dashboards idle (the baseline's turns: state frames, heartbeats): "
          f"{by_system['archviz']['idle_cores']} cores")  # fmt: skip
    print(f"learners: {tallies['archviz']['closed']} disconnected, "
          f"{tallies['archviz']['lagging']} lagging notices ({tallies['archviz']['missed']} "
          f"frames missed)")  # fmt: skip


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop what it started, then exit
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 learners, 500 events/s, 4 s")
    parser.add_argument("--straight", action="store_true",
                        help="learners to the dashboards, not through the listener")  # fmt: skip
    args = parser.parse_args()
    summary = {"machine_note": "2 shared cores: ratios, not absolute figures"}
    summary |= run(QUICK if args.quick else FULL, args.straight)
    summary["quick"], summary["straight"] = args.quick, args.straight
    report("classroom", summary)


if __name__ == "__main__":
    main()
