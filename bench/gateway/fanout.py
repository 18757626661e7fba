"""Part 2, bid fan-out: `watchers` sockets over both gateway replicas watching one auction,
and bids placed at rising rates by the Lua step itself (auction.place_bid, as the bidding
service places them); for each rate, updates delivered per second and the latency from the
bid's acceptance (the moment the Lua step returned) to each watcher.

The baseline, in the same run: two bare relays (bench/baseline/auction_ws.py, one Redis
subscription each) carrying the same Lua step's updates of a second auction to as many
watchers. Both are connected at once and take turns at each rate, so that the machine's
background load hits both alike; the watchers run in processes of their own.
"""

import os
import subprocess
import sys
import time

from archviz.core.ports import free_port
from archviz.gateway import keys as gateway_keys
from archviz.gateway import signing_keys, tokens
from archviz.gateway.auction import open_auction, place_bid, read_auction
from bench.common import ROOT, percentile
from bench.gateway.sizes import Sizes
from bench.gateway.stack import GATEWAYS, HOST, Stack, wait_listening
from bench.gateway.watchers import Seen, Spec, Watchers

ARCHVIZ_LOT, BASELINE_LOT = "fan-gateway", "fan-baseline"
WARM_UP_S = 0.5  # of each step, left out of its delivered/s
SETTLE_S = 3.0  # after the last step: a socket closed as too slow is back and caught up
TARGET_THROUGHPUT_RATIO, TARGET_P99_MS = 0.85, 50.0


class Bids:
    """Bids on one auction, each a cent above the last, and when each was accepted."""

    def __init__(self, stack: Stack, lot: str) -> None:
        self.client, self.lot = stack.client, lot
        now = time.time() * 1000
        open_auction(self.client, lot, "Fan-out lot", 100, int(now) + 3_600_000, now)
        self.amount = 100
        self.accepted: dict[int, float] = {}  # seq -> unix ms

    def at_rate(self, rate: float, seconds: float) -> dict:
        """Open loop: `rate` bids a second for `seconds`; the step's span and its seqs."""
        start, t0, seqs = time.time() * 1000, time.perf_counter(), []
        for i in range(int(rate * seconds)):
            time.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            self.amount += 1
            result = place_bid(self.client, self.lot, "bench", self.amount, time.time() * 1000)
            if result.outcome == "accepted":
                self.accepted[result.seq] = time.time() * 1000
                seqs.append(result.seq)
        return {"rate": rate, "start": start, "end": time.time() * 1000, "seqs": seqs}


def _baseline_relays(stack: Stack, count: int = 2) -> tuple[list[subprocess.Popen], list[int]]:
    ports = [free_port(HOST) for _ in range(count)]
    channel = gateway_keys.auction_channel(BASELINE_LOT)
    processes = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "baseline" / "auction_ws.py"),
             "--port", str(port), "--channel", channel],
            env=os.environ | {"REDIS_URL": stack.redis.url}, stdin=subprocess.DEVNULL,
        )
        for port in ports
    ]  # fmt: skip
    wait_listening(ports)
    return processes, ports


def _specs(stack: Stack, ports: list[int], sizes: Sizes) -> tuple[Spec, Spec]:
    key = signing_keys.current_signing_key(stack.client, time.time())
    now = time.time()
    bearers = [tokens.issue(f"watcher-{i}", "viewer", key, now, 900) for i in range(sizes.watchers)]
    gateway_urls = [f"{stack.url(GATEWAYS[i % 2], 'ws')}/ws/auctions/{ARCHVIZ_LOT}/"
                    for i in range(sizes.watchers)]  # fmt: skip
    baseline_urls = [f"ws://{HOST}:{ports[i % 2]}/ws" for i in range(sizes.watchers)]
    archviz = Spec("archviz", gateway_urls, bearers, reconnect=True)  # after a TOO_SLOW close
    return archviz, Spec("baseline", baseline_urls)


def run(stack: Stack, sizes: Sizes) -> dict:
    processes, ports = _baseline_relays(stack)
    try:
        archviz_bids, baseline_bids = Bids(stack, ARCHVIZ_LOT), Bids(stack, BASELINE_LOT)
        archviz_spec, baseline_spec = _specs(stack, ports, sizes)
        archviz, baseline = Watchers(archviz_spec), Watchers(baseline_spec)
        steps: dict[str, list[dict]] = {"archviz": [], "baseline": []}
        for rate in sizes.rates:
            for name, bids in (("baseline", baseline_bids), ("archviz", archviz_bids)):
                steps[name].append(bids.at_rate(rate, sizes.step_s))
                time.sleep(sizes.drain_s)
        time.sleep(SETTLE_S)
        seen = {"archviz": archviz.results(), "baseline": baseline.results()}
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    highest = read_auction(stack.client, ARCHVIZ_LOT).highest_cents
    bids = {"archviz": archviz_bids.accepted, "baseline": baseline_bids.accepted}
    return _compare(steps, seen, bids, highest, sizes)


def _step_figures(step: dict, seen: list[Seen], accepted: dict[int, float]) -> dict:
    window = (step["start"] + WARM_UP_S * 1000, step["end"])
    ours = set(step["seqs"])
    in_window, latencies = 0, []
    for watcher in seen:
        for seq, at in watcher.updates:
            in_window += window[0] <= at < window[1]
            if seq in ours:
                latencies.append(at - accepted[seq])
    return {
        "rate": step["rate"],
        # what the driver achieved: below `rate` when it could not keep up
        "placed_per_s": round(
            len(ours) / ((step["end"] - step["start"]) / 1000 + 1 / step["rate"]), 1
        ),
        "delivered_per_s": round(in_window / max(1e-3, (window[1] - window[0]) / 1000)),
        "delivered_share": round(len(latencies) / max(1, len(ours) * len(seen)), 4),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
    }


def _compare(steps: dict, seen: dict, bids: dict, highest: int, sizes: Sizes) -> dict:
    figures = {name: [_step_figures(step, seen[name], bids[name]) for step in steps[name]]
               for name in steps}  # fmt: skip
    base, ours = figures["baseline"], figures["archviz"]
    _print_steps(base, ours)
    sat = max(range(len(base)), key=lambda i: base[i]["delivered_per_s"])
    half = max(0, sat - 1)  # the rates double
    offered = base[sat]["placed_per_s"] * sizes.watchers
    if sat == len(base) - 1 and base[sat]["delivered_per_s"] >= 0.95 * offered:
        print(f"note: the baseline kept up with {base[sat]['rate']} bids/s (delivered "
              f"{base[sat]['delivered_per_s']} of {offered:.0f} updates/s): it did not saturate "
              "within these rates; compared there")  # fmt: skip
    ratio = round(ours[sat]["delivered_per_s"] / max(1, base[sat]["delivered_per_s"]), 3)
    stale = sum(1 for w in seen["archviz"] if w.highest[1] != highest)
    closed = sum(len(w.closes) for w in seen["archviz"])
    print(f"fan-out: baseline saturates at {base[sat]['rate']} bids/s "
          f"({base[sat]['delivered_per_s']} updates/s); archviz there "
          f"{ours[sat]['delivered_per_s']} ({ratio}x; archviz's own peak "
          f"{max(step['delivered_per_s'] for step in ours)}); archviz p99 at {ours[half]['rate']} "
          f"bids/s {ours[half]['p99_ms']} ms; stale watchers {stale}/{len(seen['archviz'])}; "
          f"archviz sockets lost {closed}")  # fmt: skip
    return {
        "watchers": sizes.watchers,
        "steps": figures,
        "baseline_saturation_rate": base[sat]["rate"],
        "half_rate": ours[half]["rate"],
        "archviz_sockets_lost": closed,
        "redis_highest_cents": highest,
        "targets": {
            "delivered_ratio_at_baseline_saturation>=0.85":
                [ratio, ratio >= TARGET_THROUGHPUT_RATIO],
            "p99_ms_at_half_saturation<=50":
                [ours[half]["p99_ms"], ours[half]["p99_ms"] <= TARGET_P99_MS],
            "stale_watchers==0": [stale, stale == 0],
        },
    }  # fmt: skip


def _print_steps(base: list[dict], ours: list[dict]) -> None:
    head = f"{'delivered/s':>11} {'share':>6} {'p50 ms':>8} {'p99 ms':>8}"
    print(f"{'bids/s':>6} | baseline {head} | archviz {head}")
    for b, a in zip(base, ours, strict=True):
        cells = [f"{x['delivered_per_s']:>11} {x['delivered_share']:>6} {x['p50_ms']:>8} "
                 f"{x['p99_ms']:>8}" for x in (b, a)]  # fmt: skip
        print(f"{b['rate']:>6} | baseline {cells[0]} | archviz  {cells[1]}")
