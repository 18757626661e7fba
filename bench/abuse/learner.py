"""A learner's journey, as their tab makes it: the lab socket open, a node pinged through
the dashboard every PING_EVERY_S (the round trip measured), and chat through the balancer
(each message sent must come back from the room).

It runs in a process of its own (`start_in_process`), as a learner's tab is on a machine of
its own: sharing the attackers' event loop, it measured their work as the lab's latency."""

import asyncio
import contextlib
import itertools
import json
import multiprocessing as mp
import time
from dataclasses import dataclass

import aiohttp

from archviz.chat.client import ChatClient, running
from bench.abuse.target import Target

PING_EVERY_S = 0.2
SAY_EVERY_S = 0.5
ROOM = "learners"


class Learner:
    def __init__(self, target: Target) -> None:
        self.target = target
        # (monotonic time sent, round trip ms, the dashboard's own ms for it, node)
        self.pings: list[tuple[float, float, float, str]] = []
        self.ping_failures: list[tuple[float, str]] = []
        self.said: dict[str, float] = {}  # text -> monotonic time sent
        self.chat: ChatClient | None = None
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """Ping and chat until stop(); the chat's own client reconnects by itself."""
        chat = ChatClient(self.target.lb, ROOM, "learner")
        self.chat = chat
        async with running(chat, connect_timeout=20):
            await asyncio.gather(self._ping_forever(), self._say_forever(chat))

    def stop(self) -> None:
        self._stop.set()

    def window(self, start: float, end: float) -> list[float]:
        """The ping round trips (ms) of pings sent in [start, end)."""
        return [ms for sent, ms, _, _ in self.pings if start <= sent < end]

    def failures(self, start: float, end: float) -> list[str]:
        return [why for sent, why in self.ping_failures if start <= sent < end]

    def lost_messages(self) -> list[str]:
        """What the learner said that never came back from the room."""
        heard = {m["text"] for m in self.chat.messages} if self.chat else set()
        return [text for text in self.said if text not in heard]

    async def drain(self, within: float = 5.0) -> None:
        """Give the last messages time to come back."""
        with contextlib.suppress(AssertionError):
            await self.chat.wait_until(lambda: not self.lost_messages(), "every echo", within)

    # --- the journey --------------------------------------------------------------

    async def _ping_forever(self) -> None:
        nodes = itertools.cycle(sorted(self.target.nodes))
        while not self._stop.is_set():
            try:
                await self._ping_session(nodes)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.ping_failures.append((time.monotonic(), f"lab socket: {exc!r}"[:120]))
                await asyncio.sleep(0.5)

    async def _ping_session(self, nodes) -> None:
        url = self.target.ws(self.target.dashboard, "/ws/lab/")
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url, origin=self.target.dashboard, max_msg_size=0) as ws,
        ):
            while not self._stop.is_set():
                await self._ping_once(ws, next(nodes))
                await asyncio.sleep(PING_EVERY_S)

    async def _ping_once(self, ws: aiohttp.ClientWebSocketResponse, node: str) -> None:
        sent = time.monotonic()
        await ws.send_json({"type": "ping", "node": node})
        async with asyncio.timeout(10):
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                if frame["type"] == "pong":
                    rtt = (time.monotonic() - sent) * 1000
                    self.pings.append((sent, rtt, frame["ms"], node))
                    return
                if frame["type"] == "error" and frame.get("request") == "ping":
                    self.ping_failures.append((sent, frame["reason"][:120]))
                    return
        raise aiohttp.ClientError(f"lab socket closed ({ws.close_code}) during a ping")

    async def _say_forever(self, chat: ChatClient) -> None:
        for n in itertools.count():
            if self._stop.is_set():
                return
            text = f"learner message {n}"
            self.said[text] = time.monotonic()
            await chat.send(text)
            await asyncio.sleep(SAY_EVERY_S)


@dataclass
class Journey:
    """What the learner's process reports when it is stopped."""

    pings: list[tuple[float, float, float, str]]
    ping_failures: list[tuple[float, str]]
    said: int
    lost: list[str]

    def window(self, start: float, end: float) -> list[float]:
        return [ms for sent, ms, _, _ in self.pings if start <= sent < end]

    def where(self, start: float, end: float) -> dict:
        """Where the time of the pings went: the dashboard's own measure of each (node ->
        Redis -> dashboard, from its request to the pong) against what the tab saw (that
        and the dashboard's event loop both ways), and each node's round trips."""
        pings = [p for p in self.pings if start <= p[0] < end]
        by_node: dict[str, list[float]] = {}
        for _, rtt, _, node in pings:
            by_node.setdefault(node, []).append(rtt)
        return {"dashboard_ms": [server for _, _, server, _ in pings], "by_node": by_node}

    def failures(self, start: float, end: float) -> list[str]:
        return [why for sent, why in self.ping_failures if start <= sent < end]


class LearnerProcess:
    """The learner in a child process; monotonic times are the machine's, shared by both."""

    def __init__(self, target: Target) -> None:
        context = mp.get_context("spawn")
        self._ours, theirs = context.Pipe()
        self._process = context.Process(target=_learner_main, args=(target, theirs), daemon=True)
        self._process.start()

    def stop(self, timeout: float = 30) -> Journey:
        """Stop the journey and collect it (after the last messages had time to come back)."""
        self._ours.send("stop")
        if not self._ours.poll(timeout):
            self._process.kill()
            raise RuntimeError("the learner's process did not report")
        journey = self._ours.recv()
        self._process.join(5)
        return journey


def _learner_main(target: Target, pipe) -> None:
    asyncio.run(_journey(target, pipe))


async def _journey(target: Target, pipe) -> None:
    learner = Learner(target)
    task = asyncio.create_task(learner.run())
    await asyncio.to_thread(pipe.recv)
    learner.stop()
    await learner.drain()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    pipe.send(Journey(learner.pings, learner.ping_failures, len(learner.said),
                      learner.lost_messages()))  # fmt: skip
