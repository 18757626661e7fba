"""A test's own WebSocket client for the lab page's socket (aiohttp, a real connection)."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp


@asynccontextmanager
async def lab_socket(
    base_url: str, *, origin: str | None = None, cookies: dict | None = None
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with (
        aiohttp.ClientSession(cookies=cookies) as session,
        session.ws_connect(base_url + "/ws/lab/", origin=origin or base_url, max_msg_size=0) as ws,
    ):
        yield ws


async def next_frame(
    ws: aiohttp.ClientWebSocketResponse,
    kind: str,
    matches: Callable[[dict], bool] = lambda frame: True,
    timeout: float = 10,
) -> dict:
    """The next frame of this type that matches, skipping others; fail after timeout."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        message = await asyncio.wait_for(ws.receive(), remaining)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket closed while waiting for {kind}: {message!r}")
        frame = json.loads(message.data)
        if frame["type"] == kind and matches(frame):
            return frame
    raise AssertionError(f"no {kind} frame within {timeout} s")


async def trace_events(ws, trace: str, count: int, timeout: float = 10) -> list[dict]:
    """Collect `count` trace events of one trace id, in the order they arrive."""
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(found) < count:
        frame = await next_frame(ws, "trace", timeout=max(deadline - time.monotonic(), 0.01))
        found += [e for e in frame["events"] if e["trace"] == trace]
    return found
