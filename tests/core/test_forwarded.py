"""Who a request through the lab's own balancer is from: the address it vouches for, only."""

import pytest

from archviz.core.forwarded import ForwardedClient, relayed_client
from archviz.core.http import lab_client_token

VOUCH = (b"x-archviz-lab-client", lab_client_token().encode())


def test_the_balancers_vouched_address_is_the_client() -> None:
    """The last X-Forwarded-For entry (the balancer's) with the lab client header."""
    headers = [(b"x-forwarded-for", b"6.6.6.6, 10.0.0.7"), VOUCH]
    assert relayed_client(headers) == "10.0.0.7"


@pytest.mark.parametrize(
    "headers",
    [
        [(b"x-forwarded-for", b"10.0.0.7")],  # anyone's X-Forwarded-For
        [(b"x-forwarded-for", b"10.0.0.7"), (b"x-archviz-lab-client", b"guess")],
        [VOUCH],  # vouched, but for no address
        [(b"x-forwarded-for", b"not-an-address"), VOUCH],
    ],
)
def test_anything_else_leaves_the_peer_as_the_client(headers) -> None:
    assert relayed_client(headers) is None


async def test_the_middleware_puts_the_relayed_client_in_the_scope() -> None:
    """HTTP and WebSocket scopes alike; an unvouched one keeps its peer."""
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["client"])

    middleware = ForwardedClient(app)
    relayed = [(b"x-forwarded-for", b"10.0.0.7"), VOUCH]
    await middleware({"type": "http", "client": ["127.0.0.1", 5], "headers": relayed}, None, None)
    await middleware({"type": "websocket", "client": ["127.0.0.1", 6], "headers": []}, None, None)
    assert seen == [["10.0.0.7", 0], ["127.0.0.1", 6]]
