"""The pages' request to the traffic generator on the lab socket (instructors)."""

from typing import Literal, NotRequired, TypedDict

from archviz.core.instructor import User, send_as
from archviz.core.labsocket import AckFrame, ack, socket_handler


class TrafficRequest(TypedDict):
    type: Literal["traffic"]
    rate: float
    work_ms: float
    variance_ms: float
    ws_clients: int
    queue: NotRequired[str]  # the queue page's producers: off | also | only


@socket_handler(TrafficRequest, sets=("traffic",))
async def traffic(user: User, message: TrafficRequest) -> AckFrame:
    fields = {k: v for k, v in message.items() if k != "type"}
    await send_as(user, {"type": "traffic.set"} | fields)
    return ack("traffic")
