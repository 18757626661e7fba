"""A shed herd's return, on two real nodes behind the real balancer (issue 12): 100 clients
held on one node are all shed at once by the instructor's "shed 100 % now", and each comes
back through the balancer after the delay core/reconnect.py gives it for the shed's hint.
Drawn with full jitter, the returns are spread over the hint's window; reconnecting at once,
they arrive in a bunch. What is asserted is how the returns are distributed, never how fast
the machine serves them (that is bench.overload's storm)."""

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import pytest

from archviz.core import close_codes, keys, registry
from archviz.core.control import send_command
from archviz.core.reconnect import ReconnectPolicy, reconnect_delay_ms
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.node.sockets import SHED_RETRY_AFTER_MS
from tests.balancer.conftest import BalancerLab
from tests.harness.wait_for import async_wait_for, wait_for

SHED, OTHER = "spread-a", "spread-b"
CLIENTS = 100
BUCKET_S = 0.25
BACK_TIMEOUT_S = 30  # generous: the hint's window is 3 s; a loaded machine may take longer


@pytest.fixture(scope="module")
def lab(redis_server: EmbeddedRedis) -> Iterator[BalancerLab]:
    """Two nodes with room for every client, never refusing or shedding by pressure (the
    thresholds are 100), behind the balancer, all three listening for commands."""
    lab = BalancerLab(redis_server.url)
    lab.redis.flushdb()
    try:
        for node in (SHED, OTHER):
            lab.start_node(node, ws_limit=4 * CLIENTS)
        lab.start_lb()
        lab.wait_registered("node", {SHED, OTHER})
        lab.wait_lb_ready()
        lab.wait_until_routable({SHED, OTHER})
        # a shed command published before a node subscribed would be lost: wait for both
        # nodes' listeners and the balancer's (nothing else in this module subscribes)
        wait_for(
            lambda: lab.redis.pubsub_numsub(keys.CONTROL_CHANNEL)[0][1] >= 3,
            "both nodes and the balancer listening for commands",
            30,
        )
        yield lab
    finally:
        lab.stop_all()


@dataclass
class Return:
    """One shed client's way back."""

    code: int  # the code the node closed it with
    hint_ms: float  # the shed message's retry_after_ms
    delay_ms: float  # what the policy drew
    back_s: float  # when its reconnect's hello arrived, seconds after the shed was sent
    node: str  # where the balancer sent it


@dataclass
class Herd:
    returns: list[Return]
    shed_counted: int  # the shed node's heartbeat: shed_total after the herd minus before

    def busiest_share(self) -> float:
        """The share of the returns in the busiest BUCKET_S bucket after the shed."""
        buckets = Counter(int(r.back_s / BUCKET_S) for r in self.returns)
        return max(buckets.values()) / len(self.returns)

    def span_s(self) -> float:
        times = [r.back_s for r in self.returns]
        return max(times) - min(times)

    def summary(self) -> str:
        times = sorted(round(r.back_s, 2) for r in self.returns)
        return f"busiest {self.busiest_share():.2f}, span {self.span_s():.2f} s, returns {times}"


def _url(base: str) -> str:
    return base.replace("http", "ws", 1) + "/ws/hold/?client=bot"


async def _hello(
    session: aiohttp.ClientSession, url: str
) -> tuple[aiohttp.ClientWebSocketResponse, str]:
    ws = await session.ws_connect(url, heartbeat=None)
    hello = await ws.receive_json(timeout=BACK_TIMEOUT_S)
    assert hello["type"] == "hello", hello
    return ws, hello["node"]


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[dict], int]:
    """The frames before the node closed the socket, and its close code (no timeout: the
    herd waits for the shed; the caller bounds the whole)."""
    frames = []
    while (message := await ws.receive()).type == aiohttp.WSMsgType.TEXT:
        frames.append(json.loads(message.data))
    assert message.type == aiohttp.WSMsgType.CLOSE, (message, frames)
    return frames, message.data  # what the node sent (aiohttp's close_code races its reply)


async def _shed_then_back(
    session: aiohttp.ClientSession,
    ws: aiohttp.ClientWebSocketResponse,
    lb_url: str,
    policy: ReconnectPolicy,
    rng: random.Random,
    shed_at: list[float],
    back: list[aiohttp.ClientWebSocketResponse],
) -> Return:
    """Wait for the shed, wait what the policy says for its hint, reconnect via the balancer."""
    frames, code = await _closed(ws)
    hint = float(frames[-1]["retry_after_ms"]) if frames and frames[-1]["type"] == "shed" else 0.0
    delay = reconnect_delay_ms(policy, 0, rng, hint_ms=hint)
    await asyncio.sleep(delay / 1000)
    again, node = await _hello(session, lb_url)
    back_s = time.perf_counter() - shed_at[0]
    back.append(again)  # held until the herd is all back, as a returned client would be
    return Return(code, hint, delay, back_s, node)


def _shed_total(lab: BalancerLab) -> int:
    return lab.node_metrics(SHED).get("extra", {}).get("overload", {}).get("shed_total", -1)


async def _herd(lab: BalancerLab, policy_name: str) -> Herd:
    """CLIENTS held on the shed node, shed 100 % at once, each back by `policy_name`."""
    port = next(r.port for r in registry.registered(lab.redis, "node") if r.id == SHED)
    node_url, lb_url = _url(f"http://127.0.0.1:{port}"), _url(lab.url)
    policy = ReconnectPolicy(policy_name)
    shed_at: list[float] = []
    back: list[aiohttp.ClientWebSocketResponse] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        held = await asyncio.gather(*(_hello(session, node_url) for _ in range(CLIENTS)))
        assert {node for _, node in held} == {SHED}
        extra = await async_wait_for(  # a heartbeat with exactly the herd on it, and no other
            lambda: lab.node_metrics(SHED).get("extra", {}),
            f"{SHED}'s heartbeat counting the {CLIENTS} held sockets",
            until=lambda e: e.get("websockets") == CLIENTS,
        )
        before = extra["overload"]["shed_total"]
        tasks = [
            asyncio.create_task(
                _shed_then_back(session, ws, lb_url, policy, random.Random(i), shed_at, back)
            )
            for i, (ws, _) in enumerate(held)
        ]
        shed_at.append(time.perf_counter())
        command = {"type": "node.shed", "by": "test", "trace": "", "node": SHED, "percent": 100}
        assert send_command(lab.redis, command) >= 1
        try:
            await async_wait_for(
                lambda: [t for t in tasks if t.done()],
                f"all {CLIENTS} shed clients back through the balancer ({policy_name})",
                BACK_TIMEOUT_S,
                until=lambda done: len(done) == CLIENTS,
                explain=lambda: f"{len(back)} back so far",
            )
            returns = [task.result() for task in tasks]  # a client that failed raises here
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(ws.close() for ws in back))
    counted = await async_wait_for(
        lambda: _shed_total(lab) - before,
        f"{SHED}'s heartbeat counting the shed",
        until=lambda n: n >= CLIENTS,
    )
    return Herd(returns, counted)


@pytest.fixture(scope="module")
def herds(lab: BalancerLab) -> dict[str, Herd]:
    """The same shed twice, with full jitter, then with immediate reconnects: a fresh herd
    each time."""
    return {policy: asyncio.run(_herd(lab, policy)) for policy in ("full_jitter", "immediate")}


@pytest.mark.parametrize("policy", ["full_jitter", "immediate"])
def test_every_shed_client_is_told_the_hint_and_comes_back(herds: dict[str, Herd], policy: str):
    """Each of the 100 was closed with 4014 and the shed's 3 s hint, and reconnected through
    the balancer; the shed node's heartbeat counted exactly the 100 it shed."""
    herd = herds[policy]
    assert len(herd.returns) == CLIENTS
    assert {(r.code, r.hint_ms) for r in herd.returns} == {(close_codes.SHED, SHED_RETRY_AFTER_MS)}
    assert {r.node for r in herd.returns} <= {SHED, OTHER}
    assert herd.shed_counted == CLIENTS


def test_full_jitter_spreads_the_returns_over_the_hints_window(herds: dict[str, Herd]):
    """Full jitter draws each delay from [0, 3 s): the returns span over a second and no
    250 ms holds a third of them.

    Why these are safe: 100 uniform draws over 3 s put 1/12 of them in a 250 ms bucket on
    average (8.3); the odds that any of the 13 buckets the window can touch holds 34 or more
    are under 1e-11 (binomial tail, union bound), and that all 100 fall within 1 s of each
    other, 100 (1/3)^99, under 1e-45. A loaded machine delays returns; only a stall of the
    test's loop of about 750 ms would pile a third into one bucket."""
    herd = herds["full_jitter"]
    delays = [r.delay_ms for r in herd.returns]
    assert min(delays) >= 0 and max(delays) < SHED_RETRY_AFTER_MS  # the hint is the window
    assert herd.busiest_share() < 0.34, herd.summary()
    assert herd.span_s() > 1.0, herd.summary()


def test_immediate_reconnects_come_back_bunched(herds: dict[str, Herd]):
    """Ignoring the hint, the herd is back in a bunch: its busiest 250 ms holds at least
    twice the share of full jitter's."""
    immediate, jitter = herds["immediate"], herds["full_jitter"]
    assert {r.delay_ms for r in immediate.returns} == {0.0}
    assert immediate.busiest_share() >= 2 * jitter.busiest_share(), (
        f"immediate: {immediate.summary()}\nfull jitter: {jitter.summary()}"
    )
