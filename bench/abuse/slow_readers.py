"""Clients that never read: lab sockets (closed as too slow, 4008, and counted by the
dashboard), chat sockets (closed 4008 past 1,000 unacknowledged frames), and a client that
pipelines requests to the balancer and never reads its answers (the balancer stops reading
from it). The frames they leave unread are made by the attack itself, as a learner could:
requests with long paths through the balancer, and a chat room kept busy."""

import asyncio
import contextlib
import json
import urllib.request

from archviz.chat.client import ChatClient, running
from bench.abuse.rawsocket import RawSocket, connect
from bench.abuse.target import Outcome, Target, session

TOO_SLOW = 4008
ROOM = "slowroom"
TALKERS = 12
UNTIL_CLOSED_S = 60  # the frames go on past the attack's window until the tabs are closed
LONG_PATH = "/" + "n" * 8000  # cut to 256 characters in its trace event, still a big one


async def run(target: Target, seconds: float) -> list[Outcome]:
    tabs = Outcome("lab sockets that never read are closed as too slow, and counted")
    chats = Outcome("chat sockets that never read are closed 4008")
    pipeline = Outcome("pipelining to the balancer without reading: it stops reading")
    silent_tabs, silent_chats = (3, 2) if target.quick else (20, 5)
    before = _too_slow_closes(target)
    lab = [await _silent(target, target.dashboard_port, "/ws/lab/") for _ in range(silent_tabs)]
    chat = [await _silent(target, target.lb_port, f"/ws/chat/{ROOM}/?user=sloth{i}")
            for i in range(silent_chats)]  # fmt: skip
    try:
        stalled = asyncio.create_task(_pipeline_without_reading(target))
        closed = lambda: (  # noqa: E731
            _too_slow_closes(target) - before >= len(lab) and _chat_too_slow(target) >= len(chat)
        )
        await _make_frames(target, seconds, closed)
        pipeline.count(await stalled, "the balancer read everything sent")
        for raw in lab:
            tabs.count(await _ended(raw), "still open")
        for raw in chat:
            chats.count(await _ended(raw, TOO_SLOW), "still open")
        counted = await _counted(target, before, silent_tabs)
        if counted < silent_tabs:
            tabs.count(False, f"the dashboards counted {counted} of {silent_tabs}")
    finally:
        for raw in lab + chat:
            raw.close()
    return [tabs, chats, pipeline]


async def _silent(target: Target, port: int, path: str) -> RawSocket:
    raw = await connect(target.host, port, path, origin=target.dashboard, small_buffer=True)
    raw.stop_reading()
    return raw


async def _ended(raw: RawSocket, code: int | None = None) -> bool:
    """Whether the server ended the connection (with `code`, when one is asked for; a
    client that read nothing may get a reset before the close frame)."""
    try:
        got = await raw.close_code(timeout=10)
    except TimeoutError:
        return False
    return code is None or got in (code, None)


def _too_slow_closes(target: Target) -> int:
    return sum(d.get("too_slow_closes", 0) for d in target.state()["dashboards"])


def _chat_too_slow(target: Target) -> int:
    """The chat sockets of ROOM closed as too slow (the room's ledger, on the chat API)."""
    with urllib.request.urlopen(target.dashboard + "/api/chat/state", timeout=5) as answer:
        rooms = json.load(answer)["rooms"]
    return sum(r["ledger"]["too_slow"] for r in rooms if r["name"] == ROOM)


async def _counted(target: Target, before: int, wanted: int) -> int:
    for _ in range(20):  # the count reaches the state with the dashboard's heartbeat
        counted = _too_slow_closes(target) - before
        if counted >= wanted:
            return counted
        await asyncio.sleep(0.25)
    return counted


async def _make_frames(target: Target, seconds: float, closed) -> None:
    """Trace events (long paths through the balancer) and chat messages in ROOM, for the
    attack's window and then until `closed()` (at most UNTIL_CLOSED_S)."""
    loop = asyncio.get_running_loop()
    deadline, last = loop.time() + seconds, loop.time() + max(seconds, UNTIL_CLOSED_S)
    closed_now = False

    def going() -> bool:
        return loop.time() < deadline or (loop.time() < last and not closed_now)

    async def requests(http) -> None:  # the trace events, as slow as the flooded lab answers
        while going():
            await asyncio.gather(*(_get(http, target.lb + LONG_PATH) for _ in range(20)))

    async def chat() -> None:  # the room's frames, at their own pace whatever the requests'
        while going():
            await asyncio.gather(*(talker.send("x" * 2000) for talker in talkers))
            await asyncio.sleep(0.06)  # each talker under the chat's 20 a second

    talkers = [ChatClient(target.lb, ROOM, f"talker{i}") for i in range(TALKERS)]
    async with contextlib.AsyncExitStack() as stack, session() as http:
        for talker in talkers:
            await stack.enter_async_context(running(talker, connect_timeout=20))
        making = [asyncio.create_task(requests(http)), asyncio.create_task(chat())]
        while going():
            await asyncio.sleep(1)
            closed_now = await asyncio.to_thread(closed)
        await asyncio.gather(*making)


async def _get(http, url: str) -> None:
    with contextlib.suppress(Exception):
        async with http.get(url) as answer:
            await answer.read()


async def _pipeline_without_reading(target: Target) -> bool:
    """Send 64 MB of pipelined requests and read nothing: held up (the balancer stopped
    reading) or cut off before it all went is the refusal."""
    _reader, writer = await asyncio.open_connection(target.host, target.lb_port)
    request = b"GET /work?ms=0 HTTP/1.1\r\nHost: lb\r\n\r\n"
    try:
        for _ in range(64 * 1024 * 1024 // (len(request) * 1000)):
            writer.write(request * 1000)
            await asyncio.wait_for(writer.drain(), 5)
        return False
    except (TimeoutError, ConnectionError):
        return True
    finally:
        writer.transport.abort()
