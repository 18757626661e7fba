"""The upgrading half of the balancer's client connection: an upgrade request goes to the
server's upgrade handler (websocket.py), which answers it, or switches protocols and takes
the connection's transport for a tunnel to a node."""

import asyncio
import logging
from typing import TYPE_CHECKING

from multidict import CIMultiDictProxy

from archviz.balancer.headers import NO_NODE, NODE_HEADER
from archviz.balancer.request import Request

if TYPE_CHECKING:
    from archviz.balancer.listener import Server
    from archviz.balancer.tunnel import Tunnel

log = logging.getLogger(__name__)


class Upgrading:
    """Serves the connection's upgrade request, `_upgrade`: the request and the bytes the
    client sent after its head. The connection calls `_serve_upgrade` once the requests
    before it are answered."""

    _server: "Server"
    _transport: asyncio.Transport | None
    _upgrade: tuple[Request, bytes] | None

    async def _serve_upgrade(self) -> None:
        """Give the upgrade request to the upgrade handler. It answers it (a refusal, after
        which the connection closes) or switches protocols and keeps the connection."""
        request, early = self._upgrade
        self._method, self._version, self._keep_alive = request.method, request.version, False
        self.response_started = self._chunked = False
        try:
            await self._server.upgrade_handler(request, self, early)
        except Exception:
            log.exception("lb: failed to serve the upgrade to %s", request.raw_path)
            if not self.response_started:
                self.respond(500, [(NODE_HEADER, NO_NODE)], b"500 Internal Server Error\n")
        if self._transport is not None:  # answered, not switched
            self._transport.close()

    def switch_protocols(
        self, headers: CIMultiDictProxy[str], tunnel: "Tunnel"
    ) -> asyncio.Transport | None:
        """Answer the upgrade with 101 and `headers`, and give the connection to `tunnel`:
        its transport (reading still paused), or None if the client has gone."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return None
        lines = ["HTTP/1.1 101 Switching Protocols\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        lines.append("\r\n")
        transport.write("".join(lines).encode("utf-8", "surrogateescape"))
        self.response_started = True
        self._transport = None
        self._server.connections.discard(self)
        self._server.tunnel_opened(tunnel)
        return transport
