"""The balancer's listening socket: it makes a ClientConnection per client, hands WebSocket
upgrades to aiohttp's server, and shuts down gracefully.

At most `max_connections` client connections are open at once, WebSockets included; past
that a new one is answered 503 (X-Archviz-Node: none) and closed, and counted.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from archviz.balancer.server import KEEPALIVE_TIMEOUT_S, ClientConnection, Handler
from archviz.core.ports import LISTEN_BACKLOG

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 1000  # the default of ARCHVIZ_LB_MAX_CONNECTIONS


class Server:
    """The listening socket, its client connections, and aiohttp's server for WebSockets."""

    def __init__(
        self,
        handler: Handler,
        websocket_handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
        *,
        idle_timeout_s: float = KEEPALIVE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.handler = handler
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.refused_connections = 0
        self._was_full = False
        self.connections: set[ClientConnection] = set()
        self.websockets = web.Server(
            websocket_handler,
            keepalive_timeout=idle_timeout_s,
            auto_decompress=False,
            access_log=None,
        )
        self._listening: asyncio.Server | None = None

    def __call__(self) -> ClientConnection:
        return ClientConnection(self)

    @property
    def open_connections(self) -> int:
        return len(self.connections) + len(self.websockets.connections)

    def full(self) -> bool:
        """Whether a new connection must be refused; says so in the log once per episode."""
        full = self.open_connections >= self.max_connections
        if full and not self._was_full:
            log.warning("lb: %d connections open, refusing new ones", self.max_connections)
        self._was_full = full
        return full

    async def listen(self, host: str, port: int) -> int:
        """Start accepting; the port actually bound. Raises OSError if it cannot be bound."""
        loop = asyncio.get_running_loop()
        self._listening = await loop.create_server(self, host, port, backlog=LISTEN_BACKLOG)
        return self._listening.sockets[0].getsockname()[1]

    async def shutdown(self, grace_s: float) -> None:
        """Stop accepting, close idle connections, give busy ones `grace_s`, then cut them."""
        if self._listening is not None:
            self._listening.close()
        deadline = asyncio.get_running_loop().time() + grace_s
        while self.connections and asyncio.get_running_loop().time() < deadline:
            for connection in list(self.connections):
                connection.close_if_idle()
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.abort()
        await self.websockets.shutdown(grace_s)
