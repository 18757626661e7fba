"""Requests straight to the nodes' and the balancer's ports: work beyond the anonymous cap,
a forged lab-client header, request lines, heads and bodies over the limits, and more
connections than the balancer takes (`past_the_connection_cap`, which the suite runs on its
own). Each gets its documented refusal."""

import asyncio

from archviz.core.http import LAB_CLIENT_HEADER
from bench.abuse.target import Outcome, Target, session

CONNECTIONS_OVER_CAP = 20


async def run(target: Target, seconds: float) -> list[Outcome]:
    work = Outcome("/work?ms=10000 from anyone is refused 400 (node and balancer)")
    limits = Outcome("request line, head and body over the caps: 414, 431, 413")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    node = f"http://{target.host}:{target.nodes[sorted(target.nodes)[0]]}"
    async with session() as http:
        while True:
            for base in (node, target.lb):
                for headers in ({}, {LAB_CLIENT_HEADER: "forged"}):
                    async with http.get(base + "/work?ms=10000", headers=headers) as answer:
                        work.count(answer.status == 400, answer.status)
            for expected, request in _over_the_caps():
                status = await _raw_status(target.host, target.lb_port, request)
                limits.count(status == expected, f"{status}, wanted {expected}")
            if target.quick or loop.time() > deadline:
                break
            await asyncio.sleep(0.2)
    return [work, limits]


def _over_the_caps() -> list[tuple[int, bytes]]:
    line = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: lb\r\n\r\n"
    head = b"GET / HTTP/1.1\r\nHost: lb\r\n" + (b"X-Pad: " + b"p" * 8000 + b"\r\n") * 9
    size = 1024 * 1024 + 1  # one byte past the cap: refused as it arrives, nothing after
    body = b"POST /ping HTTP/1.1\r\nHost: lb\r\nContent-Length: %d\r\n\r\n" % size
    return [(414, line), (431, head), (431, _many_headers()), (413, body + b"b" * size)]


def _many_headers() -> bytes:
    return b"GET / HTTP/1.1\r\nHost: lb\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(200))


async def _raw_status(host: str, port: int, request: bytes) -> int | str:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), 10)
        return int(line.split()[1]) if line else "closed"
    except (ConnectionError, TimeoutError, IndexError, ValueError) as exc:
        return type(exc).__name__
    finally:
        writer.transport.abort()


async def past_the_connection_cap(target: Target) -> Outcome:
    """Hold the balancer's connections up to its cap, then some more: those are refused
    503 and counted (its refused_connections_total), and the held ones let go. Run alone,
    after the other attacks: while the cap is held nobody else gets through the balancer."""
    outcome = Outcome("connections past the balancer's cap get 503 and are counted")
    lb = target.state()["lb"]
    before = lb["refused_connections_total"]
    held = []
    try:
        for _ in range(lb["max_connections"]):  # with the lab's own, the cap is reached
            held.append(await asyncio.open_connection(target.host, target.lb_port))
        for _ in range(CONNECTIONS_OVER_CAP):
            status = await _raw_status(target.host, target.lb_port, b"GET /health HTTP/1.1\r\n\r\n")
            outcome.count(status == 503, status)
        await asyncio.sleep(1.5)  # the balancer's count reaches the state with its heartbeat
        counted = target.state()["lb"]["refused_connections_total"] - before
        if counted < CONNECTIONS_OVER_CAP:
            outcome.count(False, f"the balancer counted {counted} refusals")
    finally:
        for _, writer in held:
            writer.transport.abort()
    return outcome
