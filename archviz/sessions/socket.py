"""The sessions page's request on the lab socket: switch the session mode (instructors)."""

from typing import Literal, TypedDict

from archviz.core.instructor import User
from archviz.core.labsocket import AckFrame, ack, socket_handler
from archviz.sessions.switch import switch_mode


class SessionModeRequest(TypedDict):
    type: Literal["session.mode"]
    mode: str


@socket_handler(SessionModeRequest, sets=("session.mode", "lb.algorithm"))
async def session_mode(user: User, message: SessionModeRequest) -> AckFrame:
    await switch_mode(user, message["mode"])
    return ack("session.mode")
