"""WebSockets through the balancer: routed once, then pinned to that node for their life.

The client's handshake goes to the node, and the node's answer comes back, so a node that
refuses (a wrong Origin, say) answers the client with its own status. After a 101 the two
connections are spliced byte for byte (tunnel.py): close codes, subprotocols and every
frame pass through as the two ends sent them.

What the balancer changes in the handshake: it adds X-Forwarded-* like any request's, and
drops the client's Sec-WebSocket-Extensions (see NO_COMPRESSION).
"""

import asyncio
import base64
import binascii

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from archviz.balancer.algorithms import Pick
from archviz.balancer.headers import NODE_HEADER, lb_headers
from archviz.balancer.proxy import NO_HEALTHY_NODE, Arrival, Proxy, Unreachable
from archviz.balancer.request import Request
from archviz.balancer.server import ClientConnection
from archviz.balancer.tunnel import Tunnel
from archviz.balancer.upstream import ConnectFailed, Disconnected, request_head

# NO_COMPRESSION: the node is never offered the permessage-deflate every browser offers.
# The nodes and dashboards (daphne) decline it anyway; the gateway replicas (aiohttp)
# would accept it, and deflating every frame to every tab cost the classroom dearly when
# the balancer did it: with 300 tabs offering it, bench.classroom closed 281 of them as too
# slow (p99 25 s).
NOT_OFFERED = ("sec-websocket-extensions",)
# Hop-by-hop, so dropped with the others (headers.HOP_BY_HOP), and said again to the node.
UPGRADE_HEADERS = (("Upgrade", "websocket"), ("Connection", "Upgrade"))
SUPPORTED_VERSION = "13"  # RFC 6455's, the only one browsers speak
KEY_BYTES = 16


async def proxy_websocket(
    proxy: Proxy, request: Request, client: ClientConnection, arrival: Arrival, early: bytes
) -> None:
    """Connect the client to one node and splice the two until either side closes; or
    answer the client with why not. `early`: bytes the client sent after its request."""
    if problem := handshake_problem(request):
        proxy.error(client, request, 400, f"not a valid WebSocket handshake: {problem}")
        return
    pick = proxy.pick(request)
    if pick is None:
        proxy.no_backend(request, arrival)
        proxy.error(client, request, 503, NO_HEALTHY_NODE, {"Retry-After": "1"})
        return
    try:
        pick, node = await _connect(proxy, request, pick, arrival)
    except Unreachable as unreachable:
        proxy.publish_route(request, arrival, pick, status=502, outcome="failed")
        proxy.error(client, request, 502, str(unreachable))
        return
    except TimeoutError:
        proxy.publish_route(request, arrival, pick, status=504, outcome="failed")
        error = f"{pick.backend_id} did not answer the handshake within {proxy.timeout_s:g} s"
        proxy.error(client, request, 504, error)
        return
    if node.status != 101:
        node.close()
        refused = node.status
        outcome = "failed" if refused >= 500 else "ok"
        proxy.publish_route(request, arrival, pick, status=refused, outcome=outcome)
        error = f"{pick.backend_id} refused the WebSocket with {refused}"
        proxy.error(client, request, refused, error, {NODE_HEADER: pick.backend_id})
        return
    await _splice(proxy, request, client, node, pick, arrival, early)


def handshake_problem(request: Request) -> str | None:
    """What makes this upgrade request no WebSocket handshake (RFC 6455 §4.2.1), or None."""
    headers = request.headers  # a GET with Upgrade: websocket (frontend.handle_upgrade)
    if headers.get("Sec-WebSocket-Version", "").strip() != SUPPORTED_VERSION:
        return f"Sec-WebSocket-Version must be {SUPPORTED_VERSION}"
    try:
        key = base64.b64decode(headers.get("Sec-WebSocket-Key", ""), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != KEY_BYTES:
        return "Sec-WebSocket-Key is not 16 bytes in base64"
    return None


class _NodeHandshake(asyncio.Protocol):
    """The node's side until its answer's head is read: its status, headers, and any bytes
    after the head (its first frames, after a 101)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.answered: asyncio.Future = asyncio.get_running_loop().create_future()
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.after_head = b""
        self._parser = httptools.HttpResponseParser(self)

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.answered.done():
            self.after_head += data
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self.after_head = data[upgrade.args[0] :]
            self._answer()
        except httptools.HttpParserError as exc:
            self._fail(Disconnected(f"the node's handshake answer is not HTTP: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(Disconnected("the node closed the connection before answering"))

    def close(self) -> None:
        """Drop the connection (its answer was a refusal: nothing more of it is needed)."""
        if self.transport is not None:
            self.transport.abort()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        if self.status != 101:
            self._answer()  # a refusal: its status is all the client is told

    def _answer(self) -> None:
        # Reading stops until the tunnel takes over, so the node's first frames, and a
        # close right after its 101 (an overloaded node's refusal), reach the client.
        if not self.answered.done():
            self.transport.pause_reading()
            self.answered.set_result(None)

    def _fail(self, error: Exception) -> None:
        if not self.answered.done():
            self.answered.set_exception(error)


async def _connect(
    proxy: Proxy, request: Request, pick: Pick, arrival: Arrival
) -> tuple[Pick, _NodeHandshake]:
    """Send the handshake to a node and read its answer's head, retrying once on another
    node if the connection fails before an answer. Raises Unreachable or TimeoutError."""
    tried: list[str] = []
    while True:
        node = pick.backend_id
        tried.append(node)
        address = proxy.pool.address(node)
        headers = proxy.backend_headers(request, drop=NOT_OFFERED)
        headers.extend(UPGRADE_HEADERS)
        host = proxy.backend_host(request) or address
        head = request_head("GET", request.raw_path, host, headers.items())
        try:
            return pick, await _handshake(address, head, proxy.timeout_s)
        except (ConnectFailed, Disconnected) as exc:
            pick = proxy.connect_failed(request, tried, exc, arrival)


async def _handshake(address: str, head: bytes, timeout_s: float) -> _NodeHandshake:
    host, _, port = address.rpartition(":")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        try:
            _, node = await loop.create_connection(_NodeHandshake, host, port)
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {address}: {exc.strerror or exc}") from None
        try:
            node.transport.write(head)
            await node.answered
        except BaseException:
            node.close()
            raise
    return node


async def _splice(
    proxy: Proxy,
    request: Request,
    client: ClientConnection,
    node: _NodeHandshake,
    pick: Pick,
    arrival: Arrival,
    early: bytes,
) -> None:
    """Answer the client with the node's 101, then splice them until both are closed."""
    backend = pick.backend_id
    answer = CIMultiDict(node.headers)
    answer.update(lb_headers(request.method, backend, cors=proxy.open_reads))
    tunnel = Tunnel()
    client_transport = client.switch_protocols(CIMultiDictProxy(answer), tunnel)
    if client_transport is None:  # the client left during the handshake
        node.close()
        proxy.publish_route(request, arrival, pick, status=101, outcome="failed")
        return
    proxy.publish_route(request, arrival, pick, status=101, outcome="ok")
    proxy.pool.websocket_opened(backend)
    try:
        tunnel.start(client_transport, node.transport, to_client=node.after_head, to_node=early)
        await tunnel.closed()
    finally:
        proxy.pool.websocket_closed(backend)
