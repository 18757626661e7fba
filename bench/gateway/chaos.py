"""Part 3, chaos: `chaos_watchers` sockets through the balancer's gateway listener and a bid
loop through it too, while a gateway replica is SIGKILLed every `kill_every_s` for
`chaos_s` (and started again a second later, as the supervisor would). Each watcher
reconnects through the listener with backoff and resumes after the last seq it saw.

Targets: every watcher back within 3 s of losing its socket; at the end every watcher shows
Redis's highest bid; no accepted bid missing from any watcher's sequence.
"""

import asyncio
import time

import aiohttp

from archviz.gateway import signing_keys, tokens
from archviz.gateway.auction import open_auction, read_auction, updates_since
from bench.common import percentile
from bench.gateway.sizes import Sizes
from bench.gateway.stack import GATEWAYS, Stack
from bench.gateway.watchers import Seen, Spec, Watchers

LOT = "chaos-lot"
RESTART_AFTER_S = 1.0
SETTLE_S = 5.0  # after the last kill: the last reconnections and catch-ups land
TARGET_RECONNECT_S = 3.0
BIDS_PER_BIDDER_S = 1.0  # under the bid policy's 2 a second


def _bearers(stack: Stack, prefix: str, role: str, count: int) -> list[str]:
    key = signing_keys.current_signing_key(stack.client, time.time())
    now = time.time()
    return [tokens.issue(f"{prefix}-{i}", role, key, now, 900) for i in range(count)]


async def _bid_loop(url: str, bearers: list[str], rate: float, stop: asyncio.Event) -> dict:
    """Bids a cent above the last, in turn from each bidder, until `stop`; what came back."""
    counts = {"sent": 0, "accepted": 0, "refused": 0, "failed": 0}
    accepted: list[int] = []
    amount, t0 = 1_000, time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        while not stop.is_set():
            await asyncio.sleep(max(0.0, t0 + counts["sent"] / rate - time.perf_counter()))
            amount += 1
            bearer = bearers[counts["sent"] % len(bearers)]
            counts["sent"] += 1
            try:
                async with session.post(
                    url,
                    json={"amount": f"{amount / 100:.2f}"},
                    headers={"Authorization": f"Bearer {bearer}"},
                ) as r:
                    body = await r.json(content_type=None)
                    status = r.status
            except (aiohttp.ClientError, TimeoutError, ValueError):
                counts["failed"] += 1
                continue
            if status == 201:
                counts["accepted"] += 1
                accepted.append(int(body["seq"]))
            else:
                counts["refused"] += 1
                why = f"{status} {_said(body)}"
                counts[why] = counts.get(why, 0) + 1
    return counts | {"accepted_seqs": accepted}


def _said(body: object) -> str:
    """Who refused a bid and why, from its JSON body (the gateway's and the LB's differ)."""
    if not isinstance(body, dict):
        return "(no JSON)"
    return " ".join(str(body[k]) for k in ("error", "service", "reason") if k in body)[:80]


async def _kills(stack: Stack, sizes: Sizes) -> list[tuple[str, float]]:
    """A replica SIGKILLed every kill_every_s, the two in turn, each restarted a second on."""
    kills, start = [], time.monotonic()
    for k in range(int(sizes.chaos_s // sizes.kill_every_s)):
        await asyncio.sleep(max(0.0, start + (k + 0.5) * sizes.kill_every_s - time.monotonic()))
        victim = GATEWAYS[k % len(GATEWAYS)]
        kills.append((victim, time.time()))
        stack.kill(victim)
        await asyncio.sleep(RESTART_AFTER_S)
        stack.restart(victim)
    await asyncio.sleep(max(0.0, start + sizes.chaos_s - time.monotonic()))
    return kills


async def _chaos(stack: Stack, sizes: Sizes) -> tuple[list, dict]:
    stop = asyncio.Event()
    bidders = max(1, round(sizes.bids_per_s / BIDS_PER_BIDDER_S))
    url = f"{stack.url('lb-gateway')}/auctions/{LOT}/bids"
    bidding = asyncio.create_task(
        _bid_loop(url, _bearers(stack, "bidder", "bidder", bidders), sizes.bids_per_s, stop)
    )
    kills = await _kills(stack, sizes)
    stop.set()
    return kills, await bidding


def run(stack: Stack, sizes: Sizes) -> dict:
    now = time.time() * 1000
    open_auction(stack.client, LOT, "Chaos lot", 1_000, int(now) + 3_600_000, now)
    lb = f"{stack.url('lb-gateway', 'ws')}/ws/auctions/{LOT}/"
    bearers = _bearers(stack, "chaos-watcher", "viewer", sizes.chaos_watchers)
    watchers = Watchers(Spec("archviz", [lb] * sizes.chaos_watchers, bearers, reconnect=True))
    kills, bids = asyncio.run(_chaos(stack, sizes))
    time.sleep(SETTLE_S)
    seen = watchers.results()
    return _figures(stack, seen, kills, bids)


def _reconnect_gaps(seen: list[Seen]) -> tuple[list[float], int]:
    """Each lost socket's time until its watcher's next welcome; how many never came back
    (results() cancels the watchers: their last sockets are not counted as lost)."""
    gaps, never = [], 0
    for watcher in seen:
        for closed in watcher.closes:
            back = [t for t in watcher.opens if t > closed]
            if back:
                gaps.append(min(back) - closed)
            else:
                never += 1
    return gaps, never


def _figures(stack: Stack, seen: list[Seen], kills: list, bids: dict) -> dict:
    final = read_auction(stack.client, LOT)
    stream = {u["seq"] for u in updates_since(stack.client, LOT, 0, 100_000).updates}
    lost = 0
    for watcher in seen:
        expected = set(range((watcher.first_seq or 0) + 1, final.seq + 1))
        lost += len(expected - {seq for seq, _ in watcher.updates})
    accepted_not_in_redis = len(set(bids["accepted_seqs"]) - stream)
    stale = sum(1 for w in seen if w.highest[1] != final.highest_cents)
    gaps, never = _reconnect_gaps(seen)
    worst = max(gaps, default=0.0)
    summary = {k: v for k, v in bids.items() if k != "accepted_seqs"}
    print(f"chaos: {len(kills)} kills; {len(gaps)} reconnects, worst {worst:.2f} s, p99 "
          f"{percentile(gaps, 99) if gaps else 0:.2f} s, never back {never}; bids {summary}; "
          f"updates {final.seq}; missing at watchers {lost}; resyncs "
          f"{sum(w.resyncs for w in seen)}; duplicates {sum(w.duplicates for w in seen)}; "
          f"stale {stale}/{len(seen)}")  # fmt: skip
    for watcher in [w for w in seen if w.errors][:3]:
        print(f"  a watcher's last errors: {watcher.errors[-2:]}")
    return {
        "kills": [victim for victim, _ in kills],
        "watchers": len(seen),
        "reconnects": len(gaps),
        "reconnect_p50_s": round(percentile(gaps, 50), 3) if gaps else 0.0,
        "reconnect_p99_s": round(percentile(gaps, 99), 3) if gaps else 0.0,
        "bids": summary,
        "updates": final.seq,
        "resyncs": sum(w.resyncs for w in seen),
        "duplicates": sum(w.duplicates for w in seen),
        "targets": {
            "reconnect_worst_s<=3": [round(worst, 3), worst <= TARGET_RECONNECT_S and never == 0],
            "stale_watchers==0": [stale, stale == 0],
            "accepted_bids_missing_at_watchers==0": [
                lost + accepted_not_in_redis, lost == 0 and accepted_not_in_redis == 0],
        },
    }  # fmt: skip
