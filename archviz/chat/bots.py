"""Chat bots: real chat clients that join rooms through the load balancer and talk."""

import asyncio
import contextlib
import json
import random

from archviz.chat.client import ChatClient
from archviz.chat.control import CHAT_ROOM, MAX_BOTS_PER_ROOM
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token

PHRASES = ("hello from a bot", "anyone on node-1?", "pub/sub is neat", "still here",
           "which node are you on?", "ping", "lorem ipsum", "the LB pinned me")  # fmt: skip
SAY_EVERY_S = (2.0, 6.0)


def parse_bot_settings(raw: bytes | str | None) -> dict[str, int]:
    """The stored {room: count}, keeping only valid entries."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {room: count for room, count in data.items()
            if isinstance(room, str) and CHAT_ROOM.fullmatch(room)
            and isinstance(count, int) and 0 < count <= MAX_BOTS_PER_ROOM}  # fmt: skip


class BotFleet:
    """Keeps `count` bots in each room; each bot reconnects and recovers on its own."""

    def __init__(self, base_url) -> None:
        self.base_url = base_url
        self.bots: dict[str, list[tuple[ChatClient, asyncio.Task]]] = {}
        self.sent = 0

    def apply(self, settings: dict[str, int]) -> None:
        for room in set(self.bots) | set(settings):
            self.resize(room, settings.get(room, 0))

    def resize(self, room: str, count: int) -> None:
        bots = self.bots.setdefault(room, [])
        while len(bots) < count:
            client = ChatClient(
                self.base_url,
                room,
                f"bot-{room}-{len(bots) + 1}",
                headers={LAB_CLIENT_HEADER: lab_client_token()},
            )
            bots.append((client, asyncio.create_task(self._live(client))))
        while len(bots) > count:
            client, task = bots.pop()
            task.cancel()
        if not bots:
            del self.bots[room]

    async def _live(self, client: ChatClient) -> None:
        runner = asyncio.create_task(client.run())
        try:
            while True:
                await asyncio.sleep(random.uniform(*SAY_EVERY_S))
                if client.connected.is_set():
                    with contextlib.suppress(Exception):  # a closing socket: next time
                        await client.send(random.choice(PHRASES))
                        self.sent += 1
        finally:
            await client.stop()
            runner.cancel()

    def snapshot(self) -> dict:
        rooms = {}
        for room, bots in list(self.bots.items()):  # called from the heartbeat thread
            nodes: dict[str, int] = {}
            for client, _task in list(bots):
                if client.connected.is_set() and client.node:
                    nodes[client.node] = nodes.get(client.node, 0) + 1
            rooms[room] = {"bots": len(bots), "connected": sum(nodes.values()), "nodes": nodes}
        return {"rooms": rooms, "sent": self.sent, "total": sum(len(b) for b in self.bots.values())}

    async def close(self) -> None:
        for room in list(self.bots):
            self.resize(room, 0)
