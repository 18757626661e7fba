"""A test's own clients: of a running lab (the lab page's WebSocket, a logged-in session),
and of a consumer in this process (what a WebsocketCommunicator receives)."""

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import redis.asyncio
import yarl
from channels.testing import WebsocketCommunicator

from archviz.core import keys


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
    """The next frame of this type that matches; the frames passed over are kept in
    `ws.passed_over` (trace_events looks there too). Fails after timeout."""
    if not hasattr(ws, "passed_over"):
        ws.passed_over = []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        message = await asyncio.wait_for(ws.receive(), remaining)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket closed while waiting for {kind}: {message!r}")
        frame = json.loads(message.data)
        if frame["type"] == kind and matches(frame):
            return frame
        ws.passed_over.append(frame)
    raise AssertionError(f"no {kind} frame within {timeout} s")


async def trace_events(ws, trace: str, count: int, timeout: float = 10) -> list[dict]:
    """`count` trace events of one trace id, including any that arrived before we asked."""
    earlier = [f for f in getattr(ws, "passed_over", []) if f["type"] == "trace"]
    found = [e for f in earlier for e in f["events"] if e["trace"] == trace]
    deadline = time.monotonic() + timeout
    while len(found) < count:
        frame = await next_frame(ws, "trace", timeout=max(deadline - time.monotonic(), 0.01))
        found += [e for e in frame["events"] if e["trace"] == trace]
    return found


def session() -> aiohttp.ClientSession:
    """An HTTP session that keeps cookies for 127.0.0.1 (aiohttp skips IP hosts otherwise)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def log_in(client: aiohttp.ClientSession, base: str, user: str, password: str) -> str:
    """Log in through the real login form; returns the CSRF token for later POSTs."""
    async with client.get(base + "/accounts/login/") as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', await page.text())[1]
    form = {"username": user, "password": password, "csrfmiddlewaretoken": token}
    async with client.post(base + "/accounts/login/", data=form, headers={"Referer": base}) as r:
        assert r.status == 200 and "/accounts/login/" not in str(r.url), "login failed"
    return client.cookie_jar.filter_cookies(yarl.URL(base))["csrftoken"].value


async def login_cookies(base: str, user: str, password: str) -> dict[str, str]:
    """The cookies of a logged-in session, to open the lab socket as that user."""
    async with session() as client:
        await log_in(client, base, user, password)
        return {c.key: c.value for c in client.cookie_jar}


# --- a consumer in this process ----------------------------------------------------------


async def output_frame(
    communicator: WebsocketCommunicator,
    kind: str,
    matches: Callable[[dict], bool] = lambda frame: True,
    timeout: float = 10,
) -> dict:
    """The next frame of this type that the consumer sends and that matches, skipping the
    others (state and trace frames arrive whenever the feed has them). Fails if the
    consumer closes the socket first, or after timeout."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        message = await _output(communicator, remaining, f"a {kind} frame")
        if message["type"] == "websocket.close":
            raise AssertionError(f"closed with {message.get('code')} while waiting for {kind}")
        frame = json.loads(message["text"])
        if frame["type"] == kind and matches(frame):
            return frame
    raise AssertionError(f"no {kind} frame within {timeout} s")


async def output_until_close(
    communicator: WebsocketCommunicator, timeout: float = 10
) -> tuple[list[dict], int]:
    """Every frame the consumer sends until it closes the socket, and the close code."""
    frames: list[dict] = []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        message = await _output(communicator, remaining, "the socket to close")
        if message["type"] == "websocket.close":
            return frames, message.get("code", 1000)
        frames.append(json.loads(message["text"]))
    raise AssertionError(f"the socket was still open after {timeout} s")


async def _output(communicator: WebsocketCommunicator, timeout: float, what: str) -> dict:
    try:
        return await communicator.receive_output(timeout)
    except TimeoutError:  # the communicator has cancelled the consumer by now
        raise AssertionError(f"nothing sent within {timeout:.1f} s, waiting for {what}") from None


# --- the control channel, as a component listens to it ------------------------------------


class ControlChannel:
    """A subscriber to the control channel, as a supervisor or node would be."""

    def __init__(self, pubsub: redis.asyncio.client.PubSub, client: redis.asyncio.Redis) -> None:
        self.pubsub = pubsub
        self.client = client

    async def published(self) -> list[dict]:
        """Every command published so far: a marker is published last and read back, and
        Redis delivers in order, so nothing sent before it can still be on its way."""
        await self.client.publish(keys.CONTROL_CHANNEL, json.dumps({"type": "test.marker"}))
        commands = []
        while True:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=10)
            assert message is not None, "the marker never came back"
            command = json.loads(message["data"])
            if command["type"] == "test.marker":
                return commands
            commands.append(command)
