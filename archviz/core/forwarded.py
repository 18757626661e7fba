"""Who a request that came through the lab's own balancer is from (ASGI middleware).

Behind the dashboards' listener (ARCHVIZ_DASHBOARDS > 1) every request's peer is the
balancer, so the log-in throttle would count a whole class as one address and the lab
socket would name the balancer as every caller. The balancer appends the client's address
to X-Forwarded-For and proves itself with the lab client header (an HMAC of the secret key,
which no browser is sent); then, and only then, the scope's `client` becomes that address
(Django's REMOTE_ADDR). Anyone else's X-Forwarded-For is ignored: it would pick its own
address, and with it its own log-in allowance.
"""

import ipaddress

from archviz.core.http import LAB_CLIENT_HEADER, is_lab_client

_VOUCH = LAB_CLIENT_HEADER.lower().encode()
_FORWARDED_FOR = b"x-forwarded-for"


def relayed_client(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The address the lab's balancer says it relays, or None (not the balancer, or no
    address it could parse)."""
    vouch = forwarded = None
    for name, value in headers:
        if name == _VOUCH:
            vouch = value.decode("latin1")
        elif name == _FORWARDED_FOR:
            forwarded = value.decode("latin1")
    if forwarded is None or not is_lab_client(vouch):
        return None
    last = forwarded.rsplit(",", 1)[-1].strip()  # the one the balancer added
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


class ForwardedClient:
    """Puts the relayed client's address in the scope of HTTP requests and WebSockets."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            relayed = relayed_client(scope.get("headers", []))
            if relayed is not None:
                scope = dict(scope, client=[relayed, 0])
        return await self.application(scope, receive, send)
