"""A WebSocket after its handshake: the client's bytes and the node's, spliced both ways.

Why bytes and not messages: the client and the node already speak WebSocket to each other
(the handshake went through the balancer, websocket.py), so their frames are valid as they
come. Relaying message by message (aiohttp read each frame, checked its UTF-8 and wrote it
again, for each tab) cost the balancer 12.5 s of CPU per 30 s with a class of 300 tabs
(bench.classroom); a splice costs one write per read, as in HAProxy's and nginx's tunnels.

- Flow control: when one side's writes back up, the other side is not read until they
  drain, so a tab that stops reading leaves the node's frames in the node, where its
  slow-client guard and its outgoing-bytes pressure see them, not in the balancer.
- When either side closes, the other is closed once what was written to it has gone (or
  after LINGER_S if it takes none of it).
- On shutdown each side is sent a close frame with 1001 (going away) at a frame's edge
  (frames.py); what either sends after that is dropped, and each side's connection is
  closed once it has answered with its own close frame (the listener cuts off the ones
  that do not, after its grace).
"""

import asyncio
from collections.abc import Callable

from archviz.balancer.frames import FrameEdges, close_frame

WRITE_HIGH_WATER = 64 * 1024  # unsent bytes to one side before the other side stops being read
LINGER_S = 5.0  # how long a side that closed waits for the other to take its last bytes
GOING_AWAY = 1001


class _End(asyncio.Protocol):
    """One side of a tunnel: what it reads is written to the other side."""

    def __init__(self, tunnel: "Tunnel", *, is_node: bool) -> None:
        self.tunnel = tunnel
        self.is_node = is_node  # frames written to a node are masked (RFC 6455 §5.3)
        self.transport: asyncio.Transport | None = None
        self.peer: _End
        self.edges = FrameEdges()  # of the frames this side sends
        self.muted = False  # going away: the other side was sent a close frame instead

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        self.edges.feed(data)
        if self.peer.muted and self.edges.closed:  # it answered the close frame it was sent
            self.close()
        if self.muted:
            return
        self.peer.write(data)
        if self.tunnel.going_away and self.edges.at_edge:
            self.mute()

    def eof_received(self) -> bool:
        return False  # a half-closed side is closed: WebSockets end with their close frames

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.tunnel.lost(self)

    def pause_writing(self) -> None:
        if self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def mute(self) -> None:
        """At a frame's edge: send the other side a close frame instead of what follows."""
        self.muted = True
        self.peer.write(close_frame(self.tunnel.close_code, masked=self.peer.is_node))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
            asyncio.get_running_loop().call_later(LINGER_S, self.abort)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class Tunnel:
    """A client's transport spliced to a node's, from the first byte after the handshake."""

    def __init__(self) -> None:
        self.client = _End(self, is_node=False)
        self.node = _End(self, is_node=True)
        self.client.peer, self.node.peer = self.node, self.client
        self.going_away = False
        self.close_code = GOING_AWAY
        self._closed = asyncio.get_running_loop().create_future()
        self._on_close: list[Callable[[], None]] = []

    def start(
        self,
        client: asyncio.Transport,
        node: asyncio.Transport,
        *,
        to_client: bytes = b"",
        to_node: bytes = b"",
    ) -> None:
        """Take over both transports; `to_client`, `to_node`: bytes already read from the
        other side (the node's first frames after its 101, the client's after its request)."""
        for end, transport in ((self.client, client), (self.node, node)):
            transport.set_protocol(end)
            end.connection_made(transport)
        for end, early in ((self.node, to_client), (self.client, to_node)):
            if early:
                end.data_received(early)
        client.resume_reading()
        node.resume_reading()

    def on_close(self, callback: Callable[[], None]) -> None:
        self._on_close.append(callback)

    async def closed(self) -> None:
        """Wait until both sides are closed."""
        await asyncio.shield(self._closed)

    def go_away(self, code: int = GOING_AWAY) -> None:
        """Close both sides with `code`, each once the frame it is sending has ended."""
        if self.going_away:
            return
        self.going_away, self.close_code = True, code
        for end in (self.client, self.node):
            if end.edges.at_edge and not end.muted:
                end.mute()

    def abort(self) -> None:
        self.client.abort()
        self.node.abort()

    def lost(self, end: _End) -> None:
        if not self.going_away:  # else the other side closes once it has answered
            end.peer.close()
        both = self.client.transport is None and self.node.transport is None
        if both and not self._closed.done():
            self._closed.set_result(None)
            for callback in self._on_close:
                callback()
