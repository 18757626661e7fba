"""Floods on every socket and on the nodes' /ping: each refused by its rate limit (an error
frame and then the FLOODING close, 4029, or a 429), never served without limit."""

import asyncio
import json

import aiohttp

from bench.abuse.target import Outcome, Target, session

FLOODING = 4029
ROOM = "floods"
CLOSE_WAIT_S = 30  # for the close after a flood: returns at once when it comes; only a
# machine far behind takes seconds to read the frames before it


async def run(target: Target, seconds: float) -> list[Outcome]:
    outcomes = [
        Outcome("lab socket flood is closed with 4029"),
        Outcome("chat send flood is closed with 4029"),
        Outcome("node /ws/hold/ echo flood is closed with 4029"),
        Outcome("/ping flood straight to a node gets 429s"),
        Outcome("/ping flood through the balancer gets 429s"),
    ]
    lab, chat, hold, direct, via_lb = outcomes
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    node_port = target.nodes[sorted(target.nodes)[-1]]
    node = f"http://{target.host}:{node_port}"
    async with session() as http:
        while True:
            await asyncio.gather(
                _socket_flood(http, target.ws(target.dashboard, "/ws/lab/"), target, lab,
                              json.dumps({"type": "ping", "node": "node-99"})),
                _socket_flood(http, target.ws(target.lb, f"/ws/chat/{ROOM}/?user=mallory"),
                              target, chat, json.dumps({"type": "send", "text": "spam"})),
                _socket_flood(http, target.ws(node, "/ws/hold/"), None, hold, "echo me"),
                _ping_flood(http, node + "/ping", direct),
                _ping_flood(http, target.lb + "/ping", via_lb),
            )  # fmt: skip
            if target.quick or loop.time() > deadline:
                return outcomes


async def _socket_flood(http, url, target: Target | None, outcome: Outcome, text: str) -> None:
    origin = target.dashboard if target else None
    async with http.ws_connect(url, origin=origin, max_msg_size=0) as ws:
        reader = asyncio.create_task(_drain(ws))
        for _ in range(2_000):
            if ws.closed:
                break
            try:
                await ws.send_str(text)
            except (ConnectionError, aiohttp.ClientError, RuntimeError):
                break
        await asyncio.wait([reader], timeout=CLOSE_WAIT_S)
        reader.cancel()
        outcome.count(ws.close_code == FLOODING, f"close {ws.close_code}")


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def _ping_flood(http: aiohttp.ClientSession, url: str, outcome: Outcome) -> None:
    """200 pings at once: some must be refused 429, and every one answered (503 too: the
    balancer refuses connections while `direct` holds all it takes)."""
    statuses = await asyncio.gather(*(_post(http, url) for _ in range(200)))
    answered = all(s in (200, 429, 503) for s in statuses)
    outcome.count(429 in statuses and answered, sorted(set(map(str, statuses))))


async def _post(http: aiohttp.ClientSession, url: str) -> int | str:
    try:
        async with http.post(url, params={"trace": "flood"}) as answer:
            await answer.read()
            return answer.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc).__name__
