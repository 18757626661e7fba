"""What the balancer does to headers: drop the hop-by-hop ones, add X-Forwarded-* and its own.

Pure functions over header multidicts, so that the HTTP path and the WebSocket handshake
treat headers the same way.
"""

import json
from collections.abc import Iterable
from typing import Protocol

from multidict import CIMultiDict, CIMultiDictProxy

from archviz.core.http import LAB_CLIENT_HEADER, NO_NODE, NODE_HEADER, lab_client_token
from archviz.core.origins import cors_headers

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
QUEUED_HEADER = "X-Archviz-Queued"  # a node's word that the request waited in its queue
# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The client library sets these from what it sends; the balancer answers Expect itself.
RECOMPUTED = frozenset({"host", "content-length", "expect"})
_NOT_FORWARDED = HOP_BY_HOP | RECOMPUTED
_NOT_RELAYED = HOP_BY_HOP | {"content-length"}
_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": NODE_HEADER}

Headers = CIMultiDictProxy[str] | CIMultiDict[str]


class ClientRequest(Protocol):
    """What the balancer reads of a client's request (request.Request has it)."""

    method: str
    path: str
    headers: Headers
    remote: str | None
    host: str
    scheme: str


def client_address(request: ClientRequest) -> str:
    return request.remote or "unknown"


def hop_by_hop(headers: Headers, always: frozenset[str] = HOP_BY_HOP) -> frozenset[str]:
    """The standard hop-by-hop headers (or `always`) plus any the Connection header names,
    lower case."""
    values = headers.getall("Connection", ())
    if not values:
        return always  # the usual case: nothing to build
    named = {token.strip().lower() for value in values for token in value.split(",")}
    return always | named


def _without(headers: Headers, dropped: frozenset[str]) -> CIMultiDict[str]:
    # Copying the whole multidict is done in C; then only the few dropped names go.
    kept = CIMultiDict(headers)
    for name in [name for name in kept if name.lower() in dropped]:
        kept.popall(name, None)
    return kept


def forward_headers(request: ClientRequest, *, drop: Iterable[str] = ()) -> CIMultiDict[str]:
    """The client's headers for the node: no hop-by-hop ones, plus X-Forwarded-*."""
    dropped = hop_by_hop(request.headers, _NOT_FORWARDED)
    if drop:
        dropped = dropped | frozenset(drop)
    headers = _without(request.headers, dropped)
    prior = ", ".join(request.headers.getall("X-Forwarded-For", []))
    client = client_address(request)
    headers["X-Forwarded-For"] = f"{prior}, {client}" if prior else client
    headers["X-Forwarded-Host"] = request.host
    headers["X-Forwarded-Proto"] = request.scheme
    return headers


def vouch(headers: CIMultiDict[str]) -> CIMultiDict[str]:
    """`headers` with the lab's client header (core/http.py), for a dashboard behind the
    balancer: it then trusts their X-Forwarded-For (core/forwarded.py). A client's own is
    dropped first: only the balancer may vouch for the address it appended."""
    headers.popall(LAB_CLIENT_HEADER, None)
    headers[LAB_CLIENT_HEADER] = lab_client_token()
    return headers


def lb_headers(method: str, node: str, *, cors: bool = True) -> dict[str, str]:
    """What the balancer adds to every response: who served it, and CORS for reads."""
    if cors and method in ("GET", "HEAD"):
        # A learner's tab on the dashboard's origin may read which node answered.
        return {NODE_HEADER: node, **_CORS}
    return {NODE_HEADER: node}


def own_answer_headers(
    request: ClientRequest, dashboards: frozenset[str], *, open_reads: bool = True
) -> dict[str, str]:
    """The headers of an answer the balancer makes itself (503, 502, 504): a dashboard page
    calling with credentials may read it when it names the page's exact origin (the sessions
    demo's cart); any other page gets `*`, for reads, when `open_reads` (see lb_headers)."""
    origin = request.headers.get("Origin")
    if origin is not None and origin in dashboards:
        return {NODE_HEADER: NO_NODE} | cors_headers(origin, dashboards)
    return lb_headers(request.method, NO_NODE, cors=open_reads)


def response_headers(
    upstream: Headers, method: str, node: str, *, open_reads: bool = True
) -> CIMultiDict[str]:
    """The node's response headers for the client, marked with the node that served it.

    A backend that answers CORS itself (the cart, with credentials: an exact origin, never
    "*") keeps its answer. `open_reads` False (the gateway's and the services' listeners):
    the backends alone decide who may read them, and the balancer adds no `*`, or a page
    the gateway refuses a grant would be granted one by the balancer in front of it."""
    headers = _without(upstream, hop_by_hop(upstream, _NOT_RELAYED))
    headers.update(lb_headers(method, node, cors=open_reads and ALLOW_ORIGIN not in upstream))
    return headers


def wants_websocket(request: ClientRequest) -> bool:
    upgrade = request.headers.get("Upgrade", "").lower()
    return request.method == "GET" and upgrade == "websocket"


def was_queued(headers: CIMultiDictProxy[str], body: bytes, content_type: str) -> bool:
    """Whether the node says the request waited in its queue: its X-Archviz-Queued header,
    or else the "queued" field of its JSON answer."""
    if (flag := headers.get(QUEUED_HEADER)) is not None:
        return flag.strip().lower() in ("1", "true", "yes")
    if content_type != "application/json" or b'"queued"' not in body:
        return False
    try:
        answer = json.loads(body.decode())
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("queued") is True


def cookie(headers: CIMultiDictProxy[str], name: str) -> str | None:
    """One cookie's value from the Cookie headers (only the balancer's own sticky cookie is
    looked up, so no full cookie parser is needed)."""
    for header in headers.getall("Cookie", ()):
        for pair in header.split(";"):
            key, equals, value = pair.strip().partition("=")
            if equals and key == name:
                return value.strip('"')
    return None
