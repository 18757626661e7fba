"""GET a node's URL as daphne would: through the node's ASGI application (its front door for
/work, then Django), in this process, with the runtime the test installed."""

import contextlib
from collections.abc import Iterator
from typing import NamedTuple

from channels.testing import HttpCommunicator
from django.core import signals
from django.db import close_old_connections

from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.node.asgi import NodeHandler

_in_flight = 0  # node_get calls under way: the database stays off until the last one ends


@contextlib.contextmanager
def _no_database() -> Iterator[None]:
    """As the node (node/asgi.py) and Django's test client do: no database connection is
    closed around a request (this test has no database)."""
    global _in_flight
    if _in_flight == 0:
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
    _in_flight += 1
    try:
        yield
    finally:
        _in_flight -= 1
        if _in_flight == 0:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


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
    with _no_database():
        response = await communicator.get_response(timeout=10)
        await communicator.wait(timeout=10)  # Django's request_finished, after the answer
    fields = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    return Answer(response["status"], fields, response["body"])
