"""Part 1, added latency and cost: zero-work GETs of one auction from the catalog, four ways
in the same run (direct to a catalog replica, through the archviz balancer's listener code
over the catalog, through the archviz gateway behind the balancer's gateway listener, and
through HAProxy configured as a gateway); then wrk (closed loop) through the two gateways,
with the CPU each spent per request.

Every request carries its own subject's token (taken in turn from `subjects` of them), so
the gateways check a signature, a rate limit bucket and a route on each, and no bucket runs
dry: archviz's read policy is 10/s per subject, HAProxy's is set far above what is sent.
"""

import asyncio
import re
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from archviz.core.ports import free_port
from archviz.gateway import signing_keys, tokens
from archviz.gateway.auction import open_auction
from bench.common import median, percentile
from bench.gateway.haproxy import EsKey, HAProxy
from bench.gateway.sizes import Sizes
from bench.gateway.stack import CATALOGS, GATEWAYS, HOST, Stack

LOT = "bench-lot"
PATH = f"/catalog/auctions/{LOT}"
TARGET_ADDED_P50_MS = 2.0
TARGET_RPS_RATIO = 0.6


def archviz_tokens(stack: Stack, count: int) -> list[str]:
    key = signing_keys.current_signing_key(stack.client, time.time())
    now = time.time()
    return [tokens.issue(f"reader-{i}", "viewer", key, now, 900) for i in range(count)]


async def open_loop(urls: list[str], bearers: list[str | None], rate: float, seconds: float):
    """Send at a fixed rate whatever the answers; latency counts from the scheduled time."""
    results: list[tuple[float, int]] = []  # (ms, status)
    connector = aiohttp.TCPConnector(limit=400)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=15)
    ) as session:

        async def one(scheduled: float, url: str, bearer: str | None) -> None:
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            try:
                async with session.get(url + PATH, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            results.append(((time.perf_counter() - scheduled) * 1000, status))

        start, tasks = time.perf_counter(), []
        for i in range(int(rate * seconds)):
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            tasks.append(
                asyncio.create_task(one(scheduled, urls[i % len(urls)], bearers[i % len(bearers)]))
            )
        await asyncio.gather(*tasks)
    return results


def _summary(results: list[tuple[float, int]]) -> dict:
    ok = [ms for ms, status in results if status == 200]
    return {
        "p50_ms": round(percentile(ok, 50), 3),
        "p99_ms": round(percentile(ok, 99), 3),
        "failed": sum(status != 200 for _, status in results),
        "sent": len(results),
    }


def measure_legs(legs: dict[str, tuple[list[str], list]], sizes: Sizes) -> dict:
    """Each leg for `rounds` rounds, interleaved so that machine noise hits them alike, each
    warmed up once first; a leg's figures are the medians over its rounds."""
    for urls, bearers in legs.values():
        asyncio.run(open_loop(urls, bearers, sizes.rate, sizes.warm_up_s))
    rounds: dict[str, list[dict]] = {name: [] for name in legs}
    for _ in range(sizes.rounds):
        for name, (urls, bearers) in legs.items():
            rounds[name].append(
                _summary(asyncio.run(open_loop(urls, bearers, sizes.rate, sizes.seconds)))
            )
    return {
        name: {
            "p50_ms": round(median([r["p50_ms"] for r in rs]), 3),
            "p99_ms": round(median([r["p99_ms"] for r in rs]), 3),
            "failed": sum(r["failed"] for r in rs),
            "sent": sum(r["sent"] for r in rs),
            "p50_by_round_ms": [r["p50_ms"] for r in rs],
        }
        for name, rs in rounds.items()
    }


def _added(legs: dict, name: str) -> float:
    """The leg's p50 less the direct one's, round by round, and the median of that."""
    pairs = zip(legs[name]["p50_by_round_ms"], legs["direct"]["p50_by_round_ms"], strict=True)
    return round(median([leg - direct for leg, direct in pairs]), 3)


# --- wrk and CPU ---------------------------------------------------------------------------

WRK_SCRIPT = """
local tokens = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "%s", {["Authorization"] = "Bearer " .. tokens[(i %% #tokens) + 1]})
end
"""


def _cpu_s(pids: dict[str, int]) -> dict[str, float]:
    """Each process's user + system CPU seconds so far."""
    return {name: sum(psutil.Process(pid).cpu_times()[:2]) for name, pid in pids.items()}


def wrk(url: str, bearers: list[str], pids: dict[str, int], sizes: Sizes) -> dict:
    """wrk's closed loop against `url`; req/s, and the CPU `pids` spent per request (each,
    and all together)."""
    script = WRK_SCRIPT % (", ".join(f'"{b}"' for b in bearers), PATH)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    before = _cpu_s(pids)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{sizes.wrk_connections}",
            f"-d{sizes.wrk_seconds}s",
            "-s",
            handle.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = {name: spent - before[name] for name, spent in _cpu_s(pids).items()}
    Path(handle.name).unlink()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": requests,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "cpu_us_per_request": round(sum(cpu.values()) / max(1, requests) * 1e6, 1),
        "cpu_us_per_request_by_process": {
            name: round(spent / max(1, requests) * 1e6, 1) for name, spent in cpu.items()
        },
    }


# --- the part ------------------------------------------------------------------------------


def _check_reachable(legs: dict[str, tuple[list[str], list]]) -> None:
    """One request per leg answered 200 before anything is measured."""
    for name, (urls, bearers) in legs.items():
        results = asyncio.run(open_loop(urls[:1], bearers[:1], 10, 0.1))
        if results[0][1] != 200:
            raise RuntimeError(f"{name}: {urls[0]}{PATH} answered {results[0][1]}, not 200")


def run(stack: Stack, sizes: Sizes) -> dict:
    now = time.time() * 1000
    open_auction(stack.client, LOT, "Bench lot", 1_000, int(now) + 3_600_000, now)
    bearers = archviz_tokens(stack, sizes.subjects)
    es_key = EsKey()
    es_bearers = [es_key.issue(f"reader-{i}", "viewer", time.time()) for i in range(sizes.subjects)]
    haproxy = HAProxy(es_key, [stack.ports[c] for c in CATALOGS], free_port(HOST))
    print(f"haproxy -c: {haproxy.check().splitlines()[-1]}")
    print(
        "HAProxy 2.6 has no EdDSA: its leg verifies ES256 tokens with the same claims "
        "(signed by a P-256 key made by the bench); archviz's verifies its EdDSA ones"
    )
    with haproxy:
        legs = {
            "direct": ([stack.url(c) for c in CATALOGS], [None]),
            "archviz_lb": ([stack.url("lb-services")], [None]),
            "archviz_gateway": ([stack.url("lb-gateway")], bearers),
            "haproxy_gateway": ([f"http://{HOST}:{haproxy.port}"], es_bearers),
        }
        _check_reachable(legs)
        figures = measure_legs(legs, sizes)
        pids = {name: stack.pid(name) for name in (*GATEWAYS, "lb")}
        wrk_archviz = wrk(stack.url("lb-gateway"), bearers, pids, sizes)
        haproxy_url = f"http://{HOST}:{haproxy.port}"
        wrk_haproxy = wrk(haproxy_url, es_bearers, {"haproxy": haproxy.pid}, sizes)
    return _figures(figures, wrk_archviz, wrk_haproxy)


def _figures(legs: dict, wrk_archviz: dict, wrk_haproxy: dict) -> dict:
    added = {name: _added(legs, name) for name in legs if name != "direct"}
    own = round(added["archviz_gateway"] - added["archviz_lb"], 3)  # less the LB's hop
    ratio = round(wrk_archviz["rps"] / wrk_haproxy["rps"], 3)
    _print(legs, added, own)
    print(
        f"wrk -t1 -c16: archviz gateway {wrk_archviz['rps']:.0f} req/s (LB + 2 replicas), "
        f"HAProxy {wrk_haproxy['rps']:.0f} req/s (1 thread): ratio {ratio}\n"
        f"CPU per request: archviz gateway {wrk_archviz['cpu_us_per_request']} us "
        f"{wrk_archviz['cpu_us_per_request_by_process']} | "
        f"HAProxy {wrk_haproxy['cpu_us_per_request']} us "
        f"(Redis's and the catalog's left out of both); non-2xx {wrk_archviz['non_2xx']} | "
        f"{wrk_haproxy['non_2xx']}"
    )
    failed = sum(leg["failed"] for leg in legs.values())
    failed += wrk_archviz["non_2xx"] + wrk_haproxy["non_2xx"]
    gateway = added["archviz_gateway"]
    return {
        "legs": legs,
        "added_p50_ms": added,
        "gateway_own_added_p50_ms": own,
        "wrk": {"archviz_gateway": wrk_archviz, "haproxy_gateway": wrk_haproxy},
        "targets": {
            "gateway_added_p50_ms<=2": [gateway, gateway <= TARGET_ADDED_P50_MS],
            "gateway_rps_ratio_vs_haproxy>=0.6": [ratio, ratio >= TARGET_RPS_RATIO],
            "failed_or_non_2xx_requests==0": [failed, failed == 0],
        },
    }


def _print(legs: dict, added: dict, own: float) -> None:
    print(f"{'way':<18} {'p50 ms':>8} {'p99 ms':>8} {'p50 over direct':>16} {'failed':>7}")
    for name, leg in legs.items():
        print(
            f"{name:<18} {leg['p50_ms']:>8} {leg['p99_ms']:>8} "
            f"{added.get(name, 0.0):>16} {leg['failed']:>7}"
        )
    print(f"the gateway's own part (LB -> gateway -> catalog less LB -> catalog): {own} ms p50")
