"""Admission at every node WebSocket's handshake (issue 12): /ws/hold/ and the chat's.

A node over its reject threshold, or holding ws_limit sockets already, refuses the new one.
Daphne can refuse a handshake only with a bare 403, which a browser cannot read, so the node
accepts, sends `{"type": "overloaded", "node", "retry_after_ms", "pressure", "reason"}` and
closes with 4013 (close_codes.OVERLOADED). An admitted socket joins the node's registry
(sockets.py) with its role, for shedding to choose from; `release` takes it out again.

Usage in a consumer: `if not await admit(self): return` before its own `accept()`, and
`release(self)` in its `disconnect`.
"""

import contextlib
import json
from functools import partial

from autobahn.exception import Disconnected
from channels.generic.websocket import AsyncWebsocketConsumer

from archviz.core import close_codes
from archviz.core.serve import UNSENT_BYTES
from archviz.node.runtime import NodeConfig, NodeRuntime, get_runtime
from archviz.node.sockets import RETRY_AFTER_MS, OpenSocket, role_of
from archviz.trace.emitter import get_emitter


def refusal(pressure: float, open_sockets: int, config: NodeConfig) -> str | None:
    """Why a new socket is refused, or None to admit it (pure)."""
    if open_sockets >= config.ws_limit:
        sockets = f"{open_sockets} WebSocket{'' if open_sockets == 1 else 's'}"
        return f"{sockets} open: the node's limit is {config.ws_limit}"
    if pressure > config.reject_above / 100:
        return f"pressure {pressure:.2f} over the reject threshold {config.reject_above / 100:.2f}"
    return None


async def admit(consumer: AsyncWebsocketConsumer) -> OpenSocket | None:
    """Count the handshake; refuse it (accept, explain, 4013) or register the socket. The
    caller accepts an admitted socket itself."""
    runtime = get_runtime()
    runtime.overload_counters.handshakes_total += 1
    pressure = runtime.pressure_now()
    reason = refusal(pressure, len(runtime.sockets), runtime.config)
    if reason is not None:
        await _refuse(consumer, runtime, pressure, reason)
        return None
    role = role_of(consumer.scope.get("query_string", b""))
    unsent = consumer.scope.get(UNSENT_BYTES, lambda: 0)
    close = partial(close_with, consumer)
    consumer.node_socket = runtime.sockets.open(role, close, unsent)
    return consumer.node_socket


def release(consumer: AsyncWebsocketConsumer) -> None:
    """The socket closed: out of the registry (a refused or shed one is out already)."""
    socket = getattr(consumer, "node_socket", None)
    if socket is not None:
        get_runtime().sockets.remove(socket.id)


async def close_with(consumer: AsyncWebsocketConsumer, message: dict, code: int) -> None:
    """Send the message, then close with the code; a client already gone is no error."""
    consumer.closing = True  # the consumers ignore frames still on their way in
    with contextlib.suppress(Disconnected):
        await consumer.send(text_data=json.dumps(message))
        await consumer.close(code=code)


async def _refuse(
    consumer: AsyncWebsocketConsumer, runtime: NodeRuntime, pressure: float, reason: str
) -> None:
    runtime.overload_counters.rejected_ws_total += 1
    detail = {"reason": reason, "retry_after_ms": RETRY_AFTER_MS, "pressure": pressure}
    get_emitter().emit("shed.reject", "client", ok=False, detail=detail)
    message = {"type": "overloaded", "node": runtime.node_id} | detail
    await consumer.accept()
    await close_with(consumer, message, close_codes.OVERLOADED)
