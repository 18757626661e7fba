"""The node's WebSockets: a long-lived connection that holds the node, as a chat client would."""

import json
import time

from channels.generic.websocket import AsyncWebsocketConsumer

from archviz.core import close_codes
from archviz.core.ratelimit import TokenBucket
from archviz.node.handshake import admit, release
from archviz.node.runtime import get_runtime

HOLD_MESSAGES_PER_S = 10  # what one held socket may send; past it: an error, then 4029
HOLD_BURST = 20


class HoldConsumer(AsyncWebsocketConsumer):
    """Stays open and answers every message with the node's id: it is pinned to this node.
    Admitted or refused at the handshake, and sheddable, like every node socket (handshake.py);
    its hello says the role the node gave it (sockets.role_of)."""

    async def connect(self) -> None:
        self.bucket = TokenBucket(rate=HOLD_MESSAGES_PER_S, burst=HOLD_BURST)
        self.closing = False
        if not (socket := await admit(self)):
            return  # refused: told why, closed with 4013
        await self.accept()
        runtime = get_runtime()
        runtime.counters.websockets += 1
        self.counted = True
        hello = {"type": "hello", "node": runtime.node_id, "role": socket.role}
        await self.send(text_data=json.dumps(hello))

    async def disconnect(self, code: int) -> None:
        release(self)
        if getattr(self, "counted", False):
            get_runtime().counters.websockets -= 1

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return  # frames that were on their way when the socket was closed
        node = get_runtime().node_id
        if not self.bucket.take(time.monotonic()):
            reason = f"too many messages: at most {HOLD_MESSAGES_PER_S} a second"
            await self.send(text_data=json.dumps({"type": "error", "node": node, "reason": reason}))
            self.closing = True
            await self.close(code=close_codes.FLOODING)
            return
        echo = (text_data or "")[:1024]
        await self.send(text_data=json.dumps({"type": "echo", "node": node, "text": echo}))
