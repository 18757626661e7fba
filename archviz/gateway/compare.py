"""Side by side with the load balancer: the same five requests (a valid token, an expired
one, a forged one, a viewer bidding, a burst over the quota) sent once through the gateway
(the balancer's gateway listener) and once around it (the balancer's listener straight to
the catalog), with what reached the catalog either way, read from its own counters.

Run by the dashboard (a lab-socket handler, gateway/socket.py) as any client would: it holds
no key. Its tokens come from the auth service through the gateway (one of them short-lived,
and waited for until it has expired); the forged one is the valid one re-signed by a key of
its own under the same kid. The conclusion is drawn from the measured numbers only.
"""

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from typing import NamedTuple

import aiohttp
import jwt
import redis

from archviz.core import registry
from archviz.gateway import auction, tokens
from archviz.gateway import keys as gateway_keys
from archviz.gateway.messages import CompareResult, CompareRow
from archviz.trace.events import TRACE_HEADER, new_trace_id, now_ms

LAST = gateway_keys.PREFIX + "compare:last"  # the class's latest run (JSON), for every page
RUNS = gateway_keys.PREFIX + "compare:runs"  # how many the class has run (kept as long)
LAST_KEPT_MS = 30 * 60_000
BURST = 30  # over the "read" class's default burst (20): some must be refused
TIMEOUT_S = 3.0
HEARTBEAT_WAIT_S = 3.0  # the catalog reports its counters every 0.5 s
CASES = ("valid", "expired", "forged", "viewer_bids", "burst")
CASE_WORDS = {
    "valid": "a valid bidder's token: GET /catalog/auctions",
    "expired": "an expired token: GET /catalog/auctions",
    "forged": "a forged token (signed by another key under the current kid)",
    "viewer_bids": "a viewer's token bidding: POST /auctions/<id>/bids",
    "burst": f"{BURST} GETs at once with the valid token (over the quota)",
}


UNCOUNTED = (
    "The catalog does not report what reached it (no reached_by_token in its"
    " metrics): compare the statuses instead."
)


class Probe(NamedTuple):
    case: str
    method: str
    path: str
    token: str
    body: dict | None
    count: int  # sent at once


class Tokens(NamedTuple):
    valid: str
    expired: str
    forged: str
    viewer: str


class ProbeFailed(Exception):
    """The comparison could not be run; the message says why, in words."""


async def _token(session: aiohttp.ClientSession, base: str, name: str, role: str,
                 ttl_s: float) -> str:  # fmt: skip
    body = {"name": name, "role": role, "ttl_s": ttl_s}
    async with session.post(f"{base}/auth/token", json=body) as response:
        answer = await response.json(content_type=None)
        if response.status != 200 or not isinstance(answer, dict) or "token" not in answer:
            why = answer.get("message") if isinstance(answer, dict) else ""
            raise ProbeFailed(
                f"the auth service refused the probe's token: {response.status} {why}"
            )
        return str(answer["token"])


def forge(token: str) -> str:
    """The token's claims re-signed by a stranger's key under the same kid (pure but for the
    new key): a signature no published key verifies."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    stranger = tokens.SigningKey.generate()
    return jwt.encode(claims, stranger.private_key, algorithm=tokens.ALGORITHM, headers=header)


async def mint(session: aiohttp.ClientSession, base: str) -> Tokens:
    """The probe's tokens, through the gateway. A fresh name each run: its own rate-limit
    bucket, so the burst measures the quota and not an earlier run."""
    name = f"probe-{secrets.token_hex(4)}"
    short = await _token(session, base, name, "bidder", tokens.MIN_TTL_S)
    expires_at = time.monotonic() + tokens.MIN_TTL_S + tokens.LEEWAY_S + 0.2
    valid = await _token(session, base, name, "bidder", tokens.DEFAULT_TTL_S)
    viewer = await _token(session, base, f"{name}-viewer", "viewer", tokens.DEFAULT_TTL_S)
    await asyncio.sleep(max(0.0, expires_at - time.monotonic()))
    return Tokens(valid=valid, expired=short, forged=forge(valid), viewer=viewer)


def probes(minted: Tokens, auction_id: str) -> list[Probe]:
    """The five requests, in order (pure)."""
    bid = {"amount": "1.00"}
    return [
        Probe("valid", "GET", "/catalog/auctions", minted.valid, None, 1),
        Probe("expired", "GET", "/catalog/auctions", minted.expired, None, 1),
        Probe("forged", "GET", "/catalog/auctions", minted.forged, None, 1),
        Probe("viewer_bids", "POST", f"/auctions/{auction_id}/bids", minted.viewer, bid, 1),
        Probe("burst", "GET", "/catalog/auctions", minted.valid, None, BURST),
    ]


def _tally(statuses: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return counts


def _ok(counts: dict[str, int]) -> int:
    return sum(n for status, n in counts.items() if status.isdigit() and int(status) < 400)


def bad_counts(
    rows: list[CompareRow], reached_gateway: int, reached_direct: int
) -> tuple[int, int, int]:
    """(bad sent, bad that reached the catalog through the gateway, around it), from what was
    measured (pure): a request is bad unless the gateway let it through with its valid
    token; what reached the catalog beyond those was bad."""
    by_case = {row["case"]: row for row in rows}
    let_through = _ok(by_case["valid"]["gateway"]) + _ok(by_case["burst"]["gateway"])
    sent = sum(sum(row["gateway"].values()) for row in rows)
    bad_sent = sent - let_through
    return bad_sent, max(0, reached_gateway - let_through), max(0, reached_direct - let_through)


def conclusion(bad_sent: int, through_gateway: int, around: int, target: str) -> str:
    """The seed's conclusion in the measured numbers (pure)."""
    gateway = f"Through the gateway {through_gateway} of {bad_sent} bad requests reached a service"
    lb = f"through {target} {around} of {bad_sent} did"
    if through_gateway == 0 and around > 0:
        lesson = (
            "behind a plain load balancer, each service must check tokens, scopes and quotas itself"
        )
        return f"{gateway}; {lb}: {lesson}."
    return f"{gateway}; {lb}."


# --- I/O -----------------------------------------------------------------------------------


class Targets(NamedTuple):
    gateway: str  # base URL of the balancer's gateway listener
    direct: str  # base URL straight to the catalog
    direct_words: str


def find_targets(client: redis.Redis) -> Targets:
    """Where to send: the supervisor's balancer's listeners (its metrics name their ports);
    around the gateway, its services listener, else a catalog replica itself. ProbeFailed
    in words when one is missing."""
    balancer = registry.trusted_lookup(client, "balancer", "lb")
    if balancer is None:
        raise ProbeFailed("the load balancer is not up")
    found = registry.latest_metrics(client, [balancer.id]).get(balancer.id)
    extra = found.extra if found else {}
    host = f"[{balancer.host}]" if ":" in balancer.host else balancer.host
    gateway_port = (extra.get("gateway_listener") or {}).get("port")
    if not gateway_port:
        raise ProbeFailed("the balancer's gateway listener is not up")
    services_port = (extra.get("services_listener") or {}).get("port")
    if services_port:
        direct, words = f"http://{host}:{services_port}", f"the load balancer (:{services_port})"
    else:
        catalogs = registry.trusted(client, "catalog")
        if not catalogs:
            raise ProbeFailed("no catalog replica is up")
        direct, words = f"http://{catalogs[0].address}", f"{catalogs[0].id} directly"
    return Targets(f"http://{host}:{gateway_port}", direct, words)


class Counted(NamedTuple):
    total: int  # requests the catalog replicas say reached them
    by_token: dict[str, int]  # by the token's verdict
    oldest_ms: float  # the oldest of their heartbeats
    reported: bool  # whether any replica reports the counters at all


def catalog_counts(client: redis.Redis) -> Counted:
    """What every catalog replica says reached it."""
    ids = [r.id for r in registry.trusted(client, "catalog")]
    metrics = registry.latest_metrics(client, ids)
    total, by_token, oldest = 0, {}, float("inf")
    reported = any("reached_by_token" in m.extra for m in metrics.values())
    for m in metrics.values():
        counted = m.extra.get("reached_by_token") or {}
        for verdict, n in counted.items():
            if isinstance(n, int):
                by_token[verdict] = by_token.get(verdict, 0) + n
        total += sum(n for n in counted.values() if isinstance(n, int))
        oldest = min(oldest, m.ts)
    return Counted(total, by_token, oldest if metrics else 0.0, reported)


async def _counts_after(client: redis.Redis, since_ms: float) -> Counted:
    """The catalog's counters once every replica has reported after `since_ms`."""
    deadline = time.monotonic() + HEARTBEAT_WAIT_S
    while True:
        counted = await asyncio.to_thread(catalog_counts, client)
        if counted.oldest_ms > since_ms or time.monotonic() > deadline:
            return counted
        await asyncio.sleep(0.1)


async def _send(session: aiohttp.ClientSession, base: str, probe: Probe) -> list[int]:
    async def one() -> int:
        headers = {"Authorization": f"Bearer {probe.token}", TRACE_HEADER: new_trace_id()}
        try:
            async with session.request(probe.method, base + probe.path, json=probe.body,
                                       headers=headers) as response:  # fmt: skip
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return 0  # no answer: counted as status 0

    return list(await asyncio.gather(*(one() for _ in range(probe.count))))


async def _run_path(session, base: str, sent: list[Probe]) -> list[dict[str, int]]:
    return [_tally(await _send(session, base, probe)) for probe in sent]


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    grown = {k: v - before.get(k, 0) for k, v in after.items()}
    return {k: v for k, v in grown.items() if v}


def keep_for_class(client: redis.Redis, result: CompareResult) -> CompareResult:
    """Keep `result` as the class's latest run for every page, numbered from 1: a lesson
    waits for that number to rise (gateway.class_runs). Raises redis.RedisError."""
    pipe = client.pipeline(transaction=True)
    pipe.incr(RUNS)
    pipe.pexpire(RUNS, LAST_KEPT_MS)
    number, _ = pipe.execute()
    numbered = CompareResult(**result, run=number)
    client.set(LAST, json.dumps(numbered), px=LAST_KEPT_MS)
    return numbered


async def run(client_factory: Callable[[], redis.Redis], by: str) -> CompareResult:
    """Send the five requests both ways and measure what reached the catalog."""
    client = client_factory()
    targets = await asyncio.to_thread(find_targets, client)
    found = await asyncio.to_thread(auction.read_auctions, client)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            minted = await mint(session, targets.gateway)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProbeFailed(f"no token from the auth service: {exc or 'timeout'}") from None
        sent = probes(minted, found[0].id if found else "lamp")
        start = await _counts_after(client, now_ms())
        through = await _run_path(session, targets.gateway, sent)
        middle = await _counts_after(client, now_ms())
        around = await _run_path(session, targets.direct, sent)
        end = await _counts_after(client, now_ms())
    rows = [CompareRow(case=p.case, words=CASE_WORDS[p.case], gateway=g, direct=d)
            for p, g, d in zip(sent, through, around, strict=True)]  # fmt: skip
    reached_g, reached_d = middle.total - start.total, end.total - middle.total
    bad_sent, bad_g, bad_d = bad_counts(rows, reached_g, reached_d)
    words = targets.direct_words
    said = conclusion(bad_sent, bad_g, bad_d, words) if end.reported else UNCOUNTED
    return CompareResult(
        ts=now_ms(), by=by, direct_target=targets.direct_words, rows=rows,
        reached_gateway=reached_g, reached_direct=reached_d,
        by_token_gateway=_delta(middle.by_token, start.by_token),
        by_token_direct=_delta(end.by_token, middle.by_token), counted=end.reported,
        bad_sent=bad_sent, bad_reached_gateway=bad_g, bad_reached_direct=bad_d, conclusion=said,
    )  # fmt: skip
