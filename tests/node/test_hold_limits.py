"""A node's /ws/hold/ is rate-limited: past its burst an error, then close code 4029."""

import pytest
from channels.testing import WebsocketCommunicator

from archviz.core import close_codes
from archviz.node.consumers import HOLD_BURST, HoldConsumer
from archviz.node.runtime import NodeRuntime, set_runtime

# Channels closes database connections around every message: the test database must be open
pytestmark = pytest.mark.usefixtures("in_process_db")


async def test_a_held_socket_that_floods_gets_an_error_then_4029():
    """Past its burst a /ws/hold/ client is told why, then closed with FLOODING."""
    set_runtime(NodeRuntime("node-t"))
    socket = WebsocketCommunicator(HoldConsumer.as_asgi(), "/ws/hold/")
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from())["type"] == "hello"
    for n in range(HOLD_BURST * 3):
        await socket.send_to(text_data=f"m{n}")
    echoes = 0
    while (frame := await socket.receive_json_from(timeout=5))["type"] == "echo":
        echoes += 1
    assert frame["type"] == "error" and "too many messages" in frame["reason"]
    assert HOLD_BURST <= echoes < HOLD_BURST * 3
    closed = await socket.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": close_codes.FLOODING}
    await socket.disconnect()
