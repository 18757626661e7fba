"""The load-balancer page's request on the lab socket: switch the algorithm (instructors)."""

from typing import Literal, TypedDict

from archviz.core.instructor import User, send_as
from archviz.core.labsocket import AckFrame, ack, socket_handler


class AlgorithmRequest(TypedDict):
    type: Literal["lb.algorithm"]
    algorithm: str


@socket_handler(AlgorithmRequest, sets=("lb.algorithm",))
async def algorithm(user: User, message: AlgorithmRequest) -> AckFrame:
    await send_as(user, {"type": "lb.algorithm", "algorithm": message["algorithm"]})
    return ack("lb.algorithm")
