"""The chat page's requests on the lab socket: the broadcast mode and the bots (instructors)."""

from typing import Literal, TypedDict

from archviz.core.instructor import User, send_as
from archviz.core.labsocket import AckFrame, ack, socket_handler


class ChatModeRequest(TypedDict):
    type: Literal["chat.mode"]
    mode: str


class ChatBotsRequest(TypedDict):
    type: Literal["chat.bots"]
    room: str
    count: int


@socket_handler(ChatModeRequest)
async def chat_mode(user: User, message: ChatModeRequest) -> AckFrame:
    await send_as(user, {"type": "chat.mode", "mode": message["mode"]})
    return ack("chat.mode")


@socket_handler(ChatBotsRequest)
async def chat_bots(user: User, message: ChatBotsRequest) -> AckFrame:
    await send_as(user, {"type": "chat.bots", "room": message["room"], "count": message["count"]})
    return ack("chat.bots")
