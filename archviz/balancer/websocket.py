"""WebSockets through the balancer: routed once, then pinned to that node for their life.

The node's handshake comes first, so a node that refuses (a wrong Origin, say) answers the
client with its own status. Once both sides are open, messages are pumped both ways until
either side closes; the other is closed with the same code.
"""

import asyncio
import contextlib

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from yarl import URL

from archviz.balancer.algorithms import Pick
from archviz.balancer.headers import lb_headers
from archviz.balancer.proxy import NO_HEALTHY_NODE, Arrival, Proxy, Unreachable

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# The handshake carries these itself; the client's values are for the balancer only.
HANDSHAKE_HEADERS = (
    "origin",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
)
# NO_COMPRESSION: the balancer declines the permessage-deflate every browser offers, as the
# nodes and the dashboards (daphne) do. aiohttp accepts it by default, and deflating every
# frame to every tab cost the balancer the classroom: with 300 tabs offering it,
# bench.classroom closed 281 of them as too slow (p99 25 s); the node's frames are relayed
# as they came.
# The node's side failed before its handshake answer: refused, closed or reset. Like an
# HTTP request, the WebSocket is tried once more on another node.
CONNECT_ERRORS = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)
# Codes a close frame may not carry (RFC 6455 §7.4.1): pass on what they mean instead.
_UNSENDABLE = {
    1005: WSCloseCode.OK,  # closed without a code
    1006: WSCloseCode.INTERNAL_ERROR,  # the connection dropped
    1015: WSCloseCode.INTERNAL_ERROR,  # TLS failure
}


async def close_all(proxy: Proxy, code: int = WSCloseCode.GOING_AWAY) -> None:
    """Close every WebSocket through the balancer, both sides (on shutdown)."""
    for client, upstream in list(proxy.open_websockets):
        await _close_both(client, upstream, code)


async def proxy_websocket(
    proxy: Proxy, request: web.BaseRequest, arrival: Arrival
) -> web.StreamResponse:
    """Connect the client to one node and relay messages until either side closes."""
    # Checked with the client's own subprotocols, which always overlap: with none, aiohttp
    # warns with the client's list, and a browser's token travels in it (`bearer, <token>`).
    if not web.WebSocketResponse(protocols=_protocols(request)).can_prepare(request).ok:
        return proxy.error_response(request, 400, "not a valid WebSocket handshake")
    pick = proxy.pick(request)
    if pick is None:
        proxy.no_backend(request, arrival)
        return proxy.error_response(request, 503, NO_HEALTHY_NODE, {"Retry-After": "1"})
    try:
        pick, upstream = await _connect(proxy, request, pick, arrival)
    except Unreachable as unreachable:
        proxy.publish_route(request, arrival, pick, status=502, outcome="failed")
        return proxy.error_response(request, 502, str(unreachable))
    except aiohttp.WSServerHandshakeError as refused:
        outcome = "failed" if refused.status >= 500 else "ok"
        proxy.publish_route(request, arrival, pick, status=refused.status, outcome=outcome)
        node = pick.backend_id
        return web.json_response(
            {"error": f"{node} refused the WebSocket with {refused.status}"},
            status=refused.status,
            headers=lb_headers(request.method, node, cors=proxy.open_reads),
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        proxy.publish_route(request, arrival, pick, status=504, outcome="failed")
        return proxy.error_response(request, 504, f"{pick.backend_id}: {exc or 'timed out'}")
    return await _relay(proxy, request, upstream, pick, arrival)


async def _connect(
    proxy: Proxy, request: web.BaseRequest, pick: Pick, arrival: Arrival
) -> tuple[Pick, aiohttp.ClientWebSocketResponse]:
    """Open the node's side, retrying once on another node if the connection fails."""
    tried: list[str] = []
    while True:
        node = pick.backend_id
        tried.append(node)
        address = proxy.pool.address(node)
        headers = proxy.backend_headers(request, drop=HANDSHAKE_HEADERS)
        if host := proxy.backend_host(request):
            headers["Host"] = host  # aiohttp sends a Host given to it, not the address
        try:
            upstream = await proxy.session.ws_connect(
                URL(f"ws://{address}{request.raw_path}", encoded=True),
                origin=request.headers.get("Origin"),
                headers=headers,
                protocols=_protocols(request),
                max_msg_size=MAX_MESSAGE_BYTES,
            )
        except CONNECT_ERRORS as exc:
            pick = proxy.connect_failed(request, tried, exc, arrival)
            continue
        return pick, upstream


async def _relay(
    proxy: Proxy,
    request: web.BaseRequest,
    upstream: aiohttp.ClientWebSocketResponse,
    pick: Pick,
    arrival: Arrival,
) -> web.StreamResponse:
    node = pick.backend_id
    client = web.WebSocketResponse(
        protocols=(upstream.protocol,) if upstream.protocol else (),
        max_msg_size=MAX_MESSAGE_BYTES,
        compress=False,  # see NO_COMPRESSION
    )
    for name, value in lb_headers(request.method, node, cors=proxy.open_reads).items():
        client.headers[name] = value
    try:
        await client.prepare(request)
    except ConnectionError:  # the client left during the handshake
        await upstream.close()
        proxy.publish_route(request, arrival, pick, status=101, outcome="failed")
        raise
    proxy.publish_route(request, arrival, pick, status=101, outcome="ok")
    proxy.pool.websocket_opened(node)
    pair = (client, upstream)
    proxy.open_websockets.add(pair)
    try:
        await _pump(client, upstream)
    finally:
        proxy.open_websockets.discard(pair)
        proxy.pool.websocket_closed(node)
    return client


async def _pump(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Relay both ways; when one side closes, close the other with the same code."""
    to_node = asyncio.create_task(_copy(client, upstream))
    to_client = asyncio.create_task(_copy(upstream, client))
    try:
        done, _ = await asyncio.wait({to_node, to_client}, return_when=asyncio.FIRST_COMPLETED)
        closed_first = client if to_node in done else upstream
        await _close_both(client, upstream, _sendable(closed_first.close_code))
    finally:
        for task in (to_node, to_client):
            task.cancel()
        await asyncio.gather(to_node, to_client, return_exceptions=True)


async def _copy(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    async for message in source:
        if sink.closed:
            return
        if message.type == WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await sink.send_bytes(message.data)


async def _close_both(
    client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse, code: int
) -> None:
    for side in (client, upstream):
        with contextlib.suppress(ConnectionError, RuntimeError):
            await side.close(code=code)


def _sendable(code: int | None) -> int:
    if code is None:
        return WSCloseCode.INTERNAL_ERROR
    return _UNSENDABLE.get(code, code)


def _protocols(request: web.BaseRequest) -> list[str]:
    offered = request.headers.getall("Sec-WebSocket-Protocol", [])
    return [p.strip() for value in offered for p in value.split(",") if p.strip()]
