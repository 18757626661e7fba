"""The chat page's requests on the lab socket: the broadcast mode and the bots (instructors)."""

import asyncio
from typing import Literal, TypedDict

from archviz.chat import keys as chat_keys
from archviz.core.instructor import User, send_as
from archviz.core.labsocket import AckFrame, ack, socket_handler
from archviz.core.redis_conn import shared_client


class ChatModeRequest(TypedDict):
    type: Literal["chat.mode"]
    mode: str


class ChatBotsRequest(TypedDict):
    type: Literal["chat.bots"]
    room: str
    count: int


@socket_handler(ChatModeRequest, sets=("chat.mode",))
async def chat_mode(user: User, message: ChatModeRequest) -> AckFrame:
    command = await send_as(user, {"type": "chat.mode", "mode": message["mode"]})
    # Stored here too: a node whose chat has not started yet (no chat socket so far) hears
    # no command, and reads the stored mode when its first socket joins.
    await asyncio.to_thread(shared_client().set, chat_keys.MODE, command["mode"])
    return ack("chat.mode")


@socket_handler(ChatBotsRequest, sets=("chat.bots",))
async def chat_bots(user: User, message: ChatBotsRequest) -> AckFrame:
    await send_as(user, {"type": "chat.bots", "room": message["room"], "count": message["count"]})
    return ack("chat.bots")
