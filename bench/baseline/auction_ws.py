"""The bid fan-out baseline: one Redis pub/sub subscription to an auction's channel, each
message sent as it is to every open WebSocket; no token, no seq ordering, no catch-up, no
tracing. aiohttp on asyncio's own loop, as the gateway replicas run. Run by
bench/gateway/fanout.py, two of them like the two replicas:

    python bench/baseline/auction_ws.py --port PORT --channel CHANNEL   (REDIS_URL set)
"""

import argparse
import asyncio
import contextlib
import os

import redis.asyncio
from aiohttp import web

SOCKETS = web.AppKey("sockets", set)


async def watch(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        request.app[SOCKETS].discard(ws)
    return ws


async def fan_out(app: web.Application, channel: str) -> None:
    client = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=None)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        text = message["data"].decode()
        for ws in list(app[SOCKETS]):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--channel", required=True)
    args = parser.parse_args()
    app = web.Application()
    app[SOCKETS] = set()
    app.router.add_get("/ws", watch)

    async def start(app: web.Application):
        task = asyncio.create_task(fan_out(app, args.channel))
        yield
        task.cancel()

    app.cleanup_ctx.append(start)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
