"""The classroom baseline: a bare daphne broadcast. One Redis pub/sub subscription per
process; each trace batch becomes the same frame the dashboard sends ({"type": "trace",
"events": [...]}), encoded once and sent to every open WebSocket. No validation, no state
frames, no per-tab queue, no slow-tab guard, no Django. Run by bench/classroom.py with
daphne; it reads the channel from BROADCAST_CHANNEL."""

import asyncio
import json
import os

import redis.asyncio

CHANNEL = os.environ["BROADCAST_CHANNEL"]
_sockets: set = set()  # each open WebSocket's ASGI `send`
_listener: asyncio.Task | None = None


async def _listen() -> None:
    client = redis.asyncio.from_url(os.environ["REDIS_URL"], socket_timeout=None)
    async with client.pubsub() as pubsub:
        await pubsub.subscribe(CHANNEL)
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            frame = json.dumps({"type": "trace", "events": json.loads(message["data"])})
            for send in list(_sockets):
                await send({"type": "websocket.send", "text": frame})


async def application(scope, receive, send) -> None:
    global _listener
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    if _listener is None:
        _listener = asyncio.get_running_loop().create_task(_listen())
    _sockets.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        _sockets.discard(send)
