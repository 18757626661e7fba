"""The message queue: end-to-end throughput against a raw redis-py loop, and a chaos run.

Throughput: N zero-cost jobs through 2 archviz consumer processes (XADD -> XREADGROUP ->
work -> dedupe + XACK), against 2 processes running a bare XREADGROUP/XACK loop over the
same Redis, in the same run, interleaved over rounds. Target: >= 70% of the raw loop.

Chaos: 10,000 jobs while one of the 2 consumers is SIGKILLed every 5 s (and restarted a
second later, as the lab's supervisor would). Targets: 0 jobs lost, every job acknowledged
or dead-lettered; duplicates (finished twice, counted once) are counted and printed.

    .venv/bin/python -m bench.queue [--jobs 20000] [--rounds 5] [--chaos-jobs 10000]
"""

import argparse
import itertools
import os
import signal
import subprocess
import sys
import time

import redis

from archviz.core import keys
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.queue import keys as queue_keys
from archviz.queue import streams
from bench.common import ROOT, median, report

BATCH = 500  # jobs per XADD pipeline, for both legs
RAW_STREAM, RAW_GROUP = "bench:raw:jobs", "bench-raw"
RAW_ID_PREFIX = "0123456789ab"  # as long as archviz's per-process job id prefix
RAW_CONSUMER = """
import sys, redis
r = redis.Redis.from_url(sys.argv[1], socket_timeout=None)
stream, group, name = sys.argv[2], sys.argv[3], sys.argv[4]
while True:
    for _, entries in r.xreadgroup(group, name, {stream: ">"}, count=32, block=1000):
        r.xack(stream, group, *[entry_id for entry_id, _ in entries])
"""


class Consumers:
    """Consumer processes: archviz's `manage.py consumer`, or the raw loop."""

    def __init__(self, url: str, names: list[str], *, raw: bool) -> None:
        self.url, self.names, self.raw = url, names, raw
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        if self.raw:
            command = [sys.executable, "-c", RAW_CONSUMER, self.url, RAW_STREAM, RAW_GROUP, name]
        else:
            command = [sys.executable, str(ROOT / "manage.py"), "consumer", "--id", name]
        self.processes[name] = subprocess.Popen(
            command,
            env=os.environ | {"REDIS_URL": self.url, "ARCHVIZ_LOG_LEVEL": "ERROR"},
            stdout=subprocess.DEVNULL,
        )

    def __enter__(self) -> "Consumers":
        for name in self.names:
            self.start(name)
        return self

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait()

    def __exit__(self, *exc) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until(condition, what: str, timeout: float = 120, poll_s: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll_s)
    raise RuntimeError(f"timed out waiting for {what}")


def acked(client: redis.Redis) -> int:
    return int(client.hget(queue_keys.STATS, "acked") or 0)


def archviz_round(client: redis.Redis, jobs: int) -> float:
    """Jobs/s from the first XADD to the last acknowledgement, through archviz's consumers."""
    start_acked = acked(client)
    started = time.perf_counter()
    for offset in range(0, jobs, BATCH):
        streams.enqueue(client, min(BATCH, jobs - offset), by="bench")
    wait_until(lambda: acked(client) - start_acked >= jobs, "archviz consumers to finish")
    return jobs / (time.perf_counter() - started)


def raw_round(client: redis.Redis, jobs: int) -> float:
    """Jobs/s for the same XADDs through the bare XREADGROUP/XACK loop."""
    started = time.perf_counter()
    last_id = b""
    for offset in range(0, jobs, BATCH):
        pipe = client.pipeline(transaction=True)
        ts = time.time() * 1000
        for n in range(min(BATCH, jobs - offset)):
            # the same fields as archviz_round's jobs (id, ts, by), ids of the same length
            job_id = f"{RAW_ID_PREFIX}-{offset + n:x}"
            pipe.xadd(RAW_STREAM, {"id": job_id, "ts": repr(ts), "by": "bench"})
        last_id = pipe.execute()[-1]

    def done() -> bool:
        group = next(g for g in client.xinfo_groups(RAW_STREAM) if g["name"] == RAW_GROUP.encode())
        return group["pending"] == 0 and group["last-delivered-id"] == last_id

    wait_until(done, "raw consumers to finish")
    return jobs / (time.perf_counter() - started)


def throughput(url: str, client: redis.Redis, jobs: int, rounds: int) -> dict:
    streams.ensure_group(client)
    client.xgroup_create(RAW_STREAM, RAW_GROUP, id="0", mkstream=True)
    with (
        Consumers(url, ["bench-1", "bench-2"], raw=False),
        Consumers(url, ["raw-1", "raw-2"], raw=True),
    ):
        wait_until(lambda: len(list(client.scan_iter(keys.registry_pattern("consumer")))) == 2,
                   "archviz consumers registered", 60)  # fmt: skip
        archviz_round(client, 500)  # warm up both legs
        raw_round(client, 500)
        ours, raw = [], []
        for n in range(rounds):
            raw.append(raw_round(client, jobs))
            ours.append(archviz_round(client, jobs))
            print(f"round {n + 1}: raw loop {raw[-1]:,.0f} jobs/s, archviz {ours[-1]:,.0f} jobs/s")
    # Each round runs the two legs back to back: its ratio is the fairest on a noisy machine.
    ratios = [a / r for a, r in zip(ours, raw, strict=True)]
    ratio = median(ratios)
    print(f"throughput: archviz {median(ours):,.0f} jobs/s, raw loop {median(raw):,.0f} jobs/s; "
          f"median ratio of the rounds {ratio:.0%} ({', '.join(f'{r:.0%}' for r in ratios)}); "
          "target >= 70%")  # fmt: skip
    return {"archviz_jobs_per_s": round(median(ours)), "raw_jobs_per_s": round(median(raw)),
            "ratio": round(ratio, 3), "round_ratios": [round(r, 3) for r in ratios],
            "jobs_per_round": jobs, "rounds": rounds}  # fmt: skip


def chaos(url: str, client: redis.Redis, jobs: int, work_ms: float, kill_every_s: float) -> dict:
    """Enqueue `jobs` at a steady pace while a consumer is SIGKILLed every kill_every_s."""
    client.flushdb()
    streams.ensure_group(client)
    names = ["chaos-1", "chaos-2"]
    ids: list[str] = []
    kills = 0
    with Consumers(url, names, raw=False) as consumers:
        wait_until(lambda: len(list(client.scan_iter(keys.registry_pattern("consumer")))) == 2,
                   "chaos consumers registered", 60)  # fmt: skip
        victims = itertools.cycle(names)
        started = time.monotonic()
        next_kill = started + kill_every_s
        while len(ids) < jobs or not _all_done(client, jobs):
            now = time.monotonic()
            if len(ids) < jobs:
                batch = streams.enqueue(client, min(50, jobs - len(ids)), work_ms=work_ms)
                ids += [job.id for job in batch]
            if now >= next_kill:
                victim = next(victims)
                consumers.kill(victim)
                kills += 1
                time.sleep(1.0)  # the supervisor's backoff and start-up, roughly
                consumers.start(victim)
                next_kill = time.monotonic() + kill_every_s
            if now - started > 300:
                raise RuntimeError("chaos run did not finish within 5 minutes")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    return _chaos_summary(client, ids, kills, elapsed)


def _all_done(client: redis.Redis, jobs: int) -> bool:
    stats = {k.decode(): int(v) for k, v in client.hgetall(queue_keys.STATS).items()}
    return stats.get("acked", 0) + stats.get("dead", 0) >= jobs


def _chaos_summary(client: redis.Redis, ids: list[str], kills: int, elapsed: float) -> dict:
    done = 0
    for offset in range(0, len(ids), 1000):
        chunk = ids[offset : offset + 1000]
        done += sum(streams.done_marks(client, chunk))
    stats = {k.decode(): int(v) for k, v in client.hgetall(queue_keys.STATS).items()}
    dead = stats.get("dead", 0)
    pending = client.xpending(queue_keys.STREAM, queue_keys.GROUP)["pending"]
    summary = {
        "jobs": len(ids),
        "kills": kills,
        "seconds": round(elapsed, 1),
        "processed_once": done,
        "dead_lettered": dead,
        "lost": len(ids) - done - dead,
        "still_pending": pending,
        "acked_or_dead": stats.get("acked", 0) + dead,
        "redelivered": stats.get("redelivered", 0),
        "duplicates_counted_once": stats.get("duplicates", 0),
    }
    print(
        f"chaos: {summary['jobs']:,} jobs, {kills} SIGKILLs in {elapsed:.0f} s: "
        f"{done:,} processed exactly once, {dead} dead-lettered, {summary['lost']} lost, "
        f"{summary['redelivered']} redelivered (worked on again after a kill), "
        f"{summary['duplicates_counted_once']} duplicates (finished twice, counted once); "
        "targets: 0 lost, every job acked or dead-lettered"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chaos-jobs", type=int, default=10_000)
    parser.add_argument("--chaos-work-ms", type=float, default=3.0)
    parser.add_argument("--kill-every-s", type=float, default=5.0)
    args = parser.parse_args()
    server = EmbeddedRedis().start()
    try:
        client = redis.Redis.from_url(server.url)
        result = throughput(server.url, client, args.jobs, args.rounds)
        result["chaos"] = chaos(
            server.url, client, args.chaos_jobs, args.chaos_work_ms, args.kill_every_s
        )
    finally:
        server.stop()
    c = result["chaos"]
    result["targets_met"] = {
        "throughput_ratio_at_least_0.7": result["ratio"] >= 0.7,
        "zero_lost": c["lost"] == 0 and c["still_pending"] == 0,
        "all_acked_or_dead": c["acked_or_dead"] >= c["jobs"],
    }
    report("queue", result)


if __name__ == "__main__":
    main()
