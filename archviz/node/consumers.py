"""The node's WebSockets: a long-lived connection that holds the node, as a chat client would."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from archviz.node.runtime import get_runtime


class HoldConsumer(AsyncWebsocketConsumer):
    """Stays open and answers every message with the node's id: it is pinned to this node."""

    async def connect(self) -> None:
        await self.accept()
        runtime = get_runtime()
        runtime.counters.websockets += 1
        self.counted = True
        await self.send(text_data=json.dumps({"type": "hello", "node": runtime.node_id}))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            get_runtime().counters.websockets -= 1

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        node = get_runtime().node_id
        echo = (text_data or "")[:1024]
        await self.send(text_data=json.dumps({"type": "echo", "node": node, "text": echo}))
