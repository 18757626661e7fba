"""Watcher clients of an auction, in worker processes of their own (so that reading hundreds
of sockets costs the gateway no CPU): each socket's every update with the time it came, the
highest bid it last saw, and when it lost and got back its socket.

Two kinds: "archviz" speaks the gateway's auction socket (the token as the `bearer, <token>`
subprotocol; welcome, update and resync frames; after a lost socket it reconnects with
backoff, in the chaos part to the balancer's gateway listener, resuming with ?after=<seq>);
"baseline" reads the bare updates that bench/baseline/auction_ws.py relays. A socket the
gateway closes as too slow is reconnected too (to the same replica), as a page would.
"""

import asyncio
import json
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

CONNECTS_AT_ONCE = 20
BACKOFF_S = (0.05, 1.0)  # first wait, longest wait


@dataclass
class Seen:
    """What one watcher saw."""

    first_seq: int | None = None  # the auction's seq in its first welcome
    last_seq: int = 0
    highest: tuple[int, int] = (0, 0)  # (seq, amount_cents) of the newest state it saw
    updates: list[tuple[int, float]] = field(default_factory=list)  # (seq, received unix ms)
    seqs: set[int] = field(default_factory=set)
    duplicates: int = 0
    failed_connects: int = 0
    resyncs: int = 0
    opens: list[float] = field(default_factory=list)  # unix s of each welcome (or connect)
    closes: list[float] = field(default_factory=list)  # unix s of each lost socket
    errors: list[str] = field(default_factory=list)  # the last few


@dataclass(frozen=True)
class Spec:
    kind: str  # "archviz" or "baseline"
    urls: list[str]  # one per watcher
    tokens: list[str] | None = None  # one per watcher (archviz)
    reconnect: bool = False  # after a lost socket (False: it stays lost)
    reconnect_url: str | None = None  # where to (None: the same URL)


def _state(seen: Seen, seq: int, amount: int) -> None:
    if seq >= seen.highest[0]:
        seen.highest = (seq, amount)
    seen.last_seq = max(seen.last_seq, seq)


def _update(seen: Seen, update: dict[str, Any], now: float) -> None:
    seq = int(update["seq"])
    if seq in seen.seqs:
        seen.duplicates += 1
        return
    seen.seqs.add(seq)
    seen.updates.append((seq, now))
    _state(seen, seq, int(update["amount_cents"]))


def on_frame(seen: Seen, kind: str, data: str) -> None:
    now = time.time() * 1000
    frame = json.loads(data)
    if kind == "baseline":
        return _update(seen, frame, now)
    if frame["type"] == "update":
        return _update(seen, frame["update"], now)
    if frame["type"] in ("welcome", "resync"):
        state = frame["auction"]
        seen.resyncs += frame["type"] == "resync"
        if seen.first_seq is None:
            seen.first_seq = int(state["seq"])
        if frame["type"] == "welcome":
            seen.opens.append(now / 1000)
        _state(seen, int(state["seq"]), int(state["highest_cents"]))
    elif frame["type"] == "error":
        seen.errors = [*seen.errors[-4:], str(frame.get("message"))[:200]]


async def _connect(session, spec: Spec, url: str, token: str | None, seen: Seen):
    if spec.kind == "archviz" and seen.first_seq is not None:
        url = f"{url}?after={seen.last_seq}"
    protocols = ("bearer", token) if token else ()
    return await session.ws_connect(url, protocols=protocols, max_msg_size=0,
                                    timeout=aiohttp.ClientWSTimeout(ws_receive=None))  # fmt: skip


class Arrivals:
    """Set once every watcher of a worker has had its first welcome (or connect)."""

    def __init__(self, count: int) -> None:
        self.count, self.seen, self.all = count, set(), asyncio.Event()

    def arrived(self, i: int) -> None:
        self.seen.add(i)
        if len(self.seen) == self.count:
            self.all.set()


async def _connected(session, spec: Spec, url: str, token: str | None, seen: Seen, gate):
    """A socket, after as many tries as it takes (with backoff) when reconnecting."""
    wait = BACKOFF_S[0]
    while True:
        try:
            async with gate:
                return await _connect(session, spec, url, token, seen)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            seen.failed_connects += 1
            seen.errors = [*seen.errors[-4:], f"{type(exc).__name__}: {exc}"[:200]]
            if not spec.reconnect:
                raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, BACKOFF_S[1])


async def watch(session, spec: Spec, i: int, seen: Seen, gate: asyncio.Semaphore,
                arrivals: Arrivals) -> None:  # fmt: skip
    """One watcher: connect, read until the socket is lost, reconnect."""
    url, token = spec.urls[i], spec.tokens[i] if spec.tokens else None
    while True:
        ws = await _connected(session, spec, url, token, seen, gate)
        if spec.kind == "baseline":  # no welcome: connected is there
            seen.opens.append(time.time())
            arrivals.arrived(i)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                on_frame(seen, spec.kind, message.data)
                if seen.opens:  # welcomed
                    arrivals.arrived(i)
        seen.closes.append(time.time())
        if not spec.reconnect:
            return
        url = spec.reconnect_url or url


async def _worker(spec: Spec, ready, stop, out) -> None:
    seen = [Seen() for _ in spec.urls]
    gate, arrivals = asyncio.Semaphore(CONNECTS_AT_ONCE), Arrivals(len(spec.urls))
    # no pool limit: every watcher holds its connection (the default 100 would queue the rest)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [asyncio.create_task(watch(session, spec, i, seen[i], gate, arrivals))
                 for i in range(len(spec.urls))]  # fmt: skip
        await arrivals.all.wait()
        ready.set()
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for s in seen:
        s.seqs = set()  # the updates say it all; less to send back
    out.put(seen)


def _worker_main(spec: Spec, ready, stop, out) -> None:
    asyncio.run(_worker(spec, ready, stop, out))


class Watchers:
    """`processes` worker processes sharing a Spec's watchers; results() stops them."""

    def __init__(self, spec: Spec, processes: int = 2, timeout_s: float = 120) -> None:
        ctx = mp.get_context("spawn")
        self.stop, self.out, self.workers = ctx.Event(), ctx.Queue(), []
        readies = []
        for w in range(processes):
            tokens = spec.tokens[w::processes] if spec.tokens else None
            part = Spec(spec.kind, spec.urls[w::processes], tokens, spec.reconnect,
                        spec.reconnect_url)  # fmt: skip
            readies.append(ctx.Event())
            args = (part, readies[-1], self.stop, self.out)
            # daemonic: a driver that fails half way does not wait on them at exit
            process = ctx.Process(target=_worker_main, args=args, daemon=True)
            process.start()
            self.workers.append(process)
        for ready in readies:
            if not ready.wait(timeout_s):
                self.close()
                raise RuntimeError(f"{spec.kind} watchers did not all connect in {timeout_s} s")

    def results(self) -> list[Seen]:
        self.stop.set()
        seen = [s for _ in self.workers for s in self.out.get(timeout=120)]
        self.close()
        return seen

    def close(self) -> None:
        self.stop.set()
        for process in self.workers:
            process.join(10)
            if process.is_alive():
                process.kill()
