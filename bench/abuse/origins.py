"""Forged origins: a page elsewhere (another site, or another port of the lab's own host)
may not open the lab socket, a node's or the chat's WebSocket, nor post a ping to a node.

A try whose connection is cut before any answer (the balancer's connection cap, filled by
the concurrent attack of bench/abuse/resources.py, or a flooded node's backlog) tested no
origin check: it is tried again in the next round, and an attack that never got an answer
is a failure of the suite, not a refusal."""

import asyncio

import aiohttp

from bench.abuse.rawsocket import OP_CLOSE, connect, read_frame
from bench.abuse.target import EVIL_ORIGIN, Outcome, Target, session

REFUSED_HANDSHAKE = 403
FORBIDDEN_ORIGIN = 4003


async def run(target: Target, seconds: float) -> list[Outcome]:
    sockets = Outcome("WebSockets opened from a forged Origin are refused")
    pings = Outcome("/ping posted from a forged Origin is refused 403")
    other_port = f"http://{target.host}:1"  # the lab's host, another port: not the dashboard
    node_port = target.nodes[sorted(target.nodes)[0]]
    places = [
        (target.dashboard_port, "/ws/lab/"),
        (target.lb_port, "/ws/chat/origins/?user=mallory"),
        (node_port, "/ws/hold/"),
    ]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    untested: list[str] = []
    async with session() as http:
        while True:
            for origin in (EVIL_ORIGIN, other_port):
                for port, path in places:
                    answered = await _refused(target.host, port, path, origin)
                    if answered is None:
                        untested.append(f"{port}{path}")
                    else:
                        sockets.count(*answered)
                for base in (f"http://{target.host}:{node_port}", target.lb):
                    try:
                        async with http.post(base + "/ping", headers={"Origin": origin}) as answer:
                            pings.count(answer.status == 403, answer.status)
                    except aiohttp.ClientConnectionError as exc:
                        untested.append(f"{base}/ping: {exc!r}"[:120])
            done = target.quick or loop.time() > deadline
            if done and sockets.tried and pings.tried:
                return [sockets, pings]
            if loop.time() > deadline + seconds:  # not one answer in twice the window
                for outcome in (sockets, pings):
                    if not outcome.tried:
                        outcome.count(False, f"no answer: {untested[-3:]}")
                return [sockets, pings]
            await asyncio.sleep(0.5)


async def _refused(host: str, port: int, path: str, origin: str) -> tuple[bool, str] | None:
    """Refused: a 403 to the handshake, or an accept followed by close 4003 at once. None:
    the connection was cut before the handshake was answered (nothing was tested)."""
    try:
        raw = await connect(host, port, path, origin=origin)
    except (ConnectionError, EOFError, TimeoutError):  # EOFError: IncompleteReadError too
        return None
    try:
        if raw.status == REFUSED_HANDSHAKE:
            return True, "403"
        if raw.status != 101:
            return False, f"HTTP {raw.status}"
        async with asyncio.timeout(5):
            while True:
                opcode, payload = await read_frame(raw.reader)
                if opcode == OP_CLOSE:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    return code == FORBIDDEN_ORIGIN, f"close {code}"
                return False, f"accepted: {payload[:60]!r}"
    except (TimeoutError, ConnectionError, EOFError) as exc:
        return False, repr(exc)
    finally:
        raw.close()
