"""Who may open the dashboard's WebSockets: pages from the dashboard's own origins only.

Channels' AllowedHostsOriginValidator compares host names alone, so a page served from
another port on the same machine (any local web server, a learner's notebook) could open an
instructor's lab socket with the instructor's cookies; and `*` in ALLOWED_HOSTS lets every
origin through. This validator hands Channels' OriginValidator exact origins instead, scheme,
host and port: each host name the dashboard answers to (never `*`), on the port this
dashboard listens on, or on the port the browser asked for (a proxy in front that keeps the
Host header). The browser sets both Origin and Host, so a page elsewhere cannot match them.
"""

from collections.abc import Callable
from urllib.parse import urlparse

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.http.request import split_domain_port

from archviz.core.close_codes import FORBIDDEN_ORIGIN
from archviz.core.origins import dashboard_hosts, dashboard_origins

_DEFAULT_PORTS = {"ws": 80, "wss": 443}


class ForbiddenOrigin(AsyncWebsocketConsumer):
    """Accept, then close with FORBIDDEN_ORIGIN (4003) at once: a close before the accept
    reaches the browser as daphne's 403 with no code, and the page could not say why."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=FORBIDDEN_ORIGIN)


class _ExactOriginValidator(OriginValidator):
    """Channels' OriginValidator, closing with FORBIDDEN_ORIGIN rather than a bare 403."""

    async def __call__(self, scope, receive, send):
        origins = [v for k, v in scope.get("headers", []) if k == b"origin"]
        parsed = urlparse(origins[-1].decode("latin1")) if origins else None
        if self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        return await ForbiddenOrigin()(scope, receive, send)


class DashboardOriginValidator:
    """ASGI middleware: a WebSocket from any other origin is closed with 4003 as it opens."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        allowed = dashboard_origins(dashboard_hosts(), _ports(scope))
        validator = _ExactOriginValidator(self.application, sorted(allowed))
        return await validator(scope, receive, send)


def _ports(scope: dict) -> set[int]:
    """The port this dashboard listens on, and the one in the Host header the browser sent."""
    default = _DEFAULT_PORTS.get(scope.get("scheme", "ws"), 80)
    ports = set()
    server = scope.get("server")
    if server and server[1] is not None:
        ports.add(int(server[1]))
    host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin1")
    _, port = split_domain_port(host)
    if host and (port.isdigit() or not port):
        ports.add(int(port) if port else default)
    return ports


class PageOriginValidator:
    """ASGI middleware for a server behind the balancer (a node): a WebSocket opened by a
    page is accepted only from a dashboard's page; one with no Origin is not a browser's.

    A browser always sends Origin on a WebSocket handshake, and it is the browser that
    carries a learner's cookies, so a page elsewhere is what must be kept out. The bots,
    the traffic generator and the benchmarks send no Origin, and a program can send any
    Origin it likes anyway. `allowed` is read at each handshake: the node follows the
    registered dashboards on its heartbeat.
    """

    def __init__(self, application, allowed: Callable[[], frozenset[str]]) -> None:
        self.application = application
        self.allowed = allowed

    async def __call__(self, scope, receive, send):
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is not None and origin.decode("latin1") not in self.allowed():
            # a bare 403: no page of ours explains a node's codes (the dashboard's does)
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
