"""The balancer's listening socket: it makes a ClientConnection per client, keeps the
WebSocket tunnels those become, and shuts down gracefully.

At most `max_connections` client connections are open at once, WebSockets included; past
that a new one is answered 503 (X-Archviz-Node: none) and closed, and counted.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from archviz.balancer.request import Request
from archviz.balancer.server import KEEPALIVE_TIMEOUT_S, ClientConnection, Handler
from archviz.balancer.tunnel import Tunnel
from archviz.core.ports import LISTEN_BACKLOG

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 1000  # the default of ARCHVIZ_LB_MAX_CONNECTIONS
# An upgrade request, the connection it came on, and the bytes the client sent after it.
UpgradeHandler = Callable[[Request, ClientConnection, bytes], Awaitable[None]]


class Server:
    """The listening socket, its client connections, and the tunnels they became."""

    def __init__(
        self,
        handler: Handler,
        upgrade_handler: UpgradeHandler,
        *,
        idle_timeout_s: float = KEEPALIVE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.handler = handler
        self.upgrade_handler = upgrade_handler
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.refused_connections = 0
        self._was_full = False
        self.connections: set[ClientConnection] = set()
        self.tunnels: set[Tunnel] = set()
        self._listening: asyncio.Server | None = None

    def __call__(self) -> ClientConnection:
        return ClientConnection(self)

    @property
    def open_connections(self) -> int:
        return len(self.connections) + len(self.tunnels)

    def tunnel_opened(self, tunnel: Tunnel) -> None:
        """A connection became `tunnel` (ClientConnection.switch_protocols)."""
        self.tunnels.add(tunnel)
        tunnel.on_close(lambda: self.tunnels.discard(tunnel))

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
        """Stop accepting, close idle connections and every tunnel (1001, going away), give
        busy ones `grace_s`, then cut them."""
        if self._listening is not None:
            self._listening.close()
        for tunnel in list(self.tunnels):
            tunnel.go_away()
        deadline = asyncio.get_running_loop().time() + grace_s
        while (self.connections or self.tunnels) and asyncio.get_running_loop().time() < deadline:
            for connection in list(self.connections):
                connection.close_if_idle()
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.abort()
        for tunnel in list(self.tunnels):
            tunnel.abort()
