"""GET a node's URL as daphne would: through the node's ASGI application (its front door for
/work, then Django), in this process, with the runtime the test installed."""

from typing import NamedTuple

from channels.testing import HttpCommunicator

from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.node.asgi import NodeHandler


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


async def node_get(path: str, *, lab: bool = False, token: str | None = None) -> Answer:
    """`lab`: with the lab's own client token (the traffic generator's); `token`: that one."""
    headers = [(b"host", b"127.0.0.1:8001")]
    if lab or token is not None:
        value = token if token is not None else lab_client_token()
        headers.append((LAB_CLIENT_HEADER.lower().encode(), value.encode()))
    communicator = HttpCommunicator(NodeHandler(), "GET", path, headers=headers)
    response = await communicator.get_response(timeout=10)
    fields = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    return Answer(response["status"], fields, response["body"])
