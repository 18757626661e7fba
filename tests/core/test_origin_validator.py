"""The dashboard's WebSocket origin check: scheme, host and port, in process."""

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from archviz.asgi import application as dashboard
from archviz.core import close_codes
from archviz.core.origin_validator import DashboardOriginValidator, PageOriginValidator

# Channels closes database connections around every message: the test database must be open
pytestmark = pytest.mark.usefixtures("in_process_db")

PORT = 8123  # the port the dashboard under test listens on


class _Accepting(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()


def _listening(app, port: int = PORT):
    """The app as daphne runs it: the scope names the server's own address."""

    async def served(scope, receive, send):
        return await app(scope | {"server": ("127.0.0.1", port)}, receive, send)

    return served


async def _connects(app, origin: str | None, host: str = f"127.0.0.1:{PORT}") -> tuple:
    """(True, None) for a socket that opens and stays open; (False, code) for one refused,
    closed before or at once after its accept (how a code reaches a browser through daphne)."""
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(app, "/ws/lab/", headers=headers)
    try:
        accepted, code = await communicator.connect()
        if not accepted:
            return False, code
        if await communicator.receive_nothing(timeout=0.2):
            return True, None
        closing = await communicator.receive_output(timeout=1)
        assert closing["type"] == "websocket.close", closing
        return False, closing.get("code", 1000)
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize(
    "origin",
    [f"http://127.0.0.1:{PORT}", f"http://localhost:{PORT}", f"http://[::1]:{PORT}"],
)
async def test_a_page_from_the_dashboards_own_origin_is_accepted(origin: str) -> None:
    """Any host name the dashboard answers to, on its own port."""
    app = _listening(DashboardOriginValidator(_Accepting.as_asgi()))
    assert (await _connects(app, origin))[0] is True


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",  # another local port: any web server on the machine
        f"https://127.0.0.1:{PORT}",  # another scheme
        f"http://evil.example:{PORT}",  # another host
        "http://127.0.0.1",  # no port: 80
        "null",  # a sandboxed frame or a file:// page
        None,  # no Origin at all
    ],
)
async def test_a_page_from_any_other_origin_is_refused(origin: str | None) -> None:
    app = _listening(DashboardOriginValidator(_Accepting.as_asgi()))
    assert (await _connects(app, origin))[0] is False


async def test_allowed_hosts_star_does_not_turn_the_check_off(settings) -> None:
    """ARCHVIZ_ALLOWED_HOSTS=* lets any Host through Django, but not any origin."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "*"]
    app = _listening(DashboardOriginValidator(_Accepting.as_asgi()))
    assert (await _connects(app, "http://127.0.0.1:9999"))[0] is False
    assert (await _connects(app, "http://evil.example:9999", "evil.example:9999"))[0] is False
    assert (await _connects(app, f"http://127.0.0.1:{PORT}"))[0] is True


async def test_behind_a_proxy_that_keeps_the_host_the_browsers_port_is_allowed(settings) -> None:
    """A named host through a proxy on port 80: the page's origin is the proxy's."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "lab.school"]
    app = _listening(DashboardOriginValidator(_Accepting.as_asgi()))
    assert (await _connects(app, "http://lab.school", "lab.school"))[0] is True
    assert (await _connects(app, "http://lab.school:9999", "lab.school"))[0] is False


async def test_the_dashboards_lab_socket_checks_the_port(settings) -> None:
    """The dashboard's own ASGI app refuses a page on another port and lets its own through
    to the lab consumer (which then asks for a login, so no Redis is needed here)."""
    settings.ARCHVIZ_REQUIRE_LOGIN = True
    app = _listening(dashboard)
    assert await _connects(app, "http://127.0.0.1:9999") == (False, close_codes.FORBIDDEN_ORIGIN)
    assert await _connects(app, f"http://127.0.0.1:{PORT}") == (False, close_codes.LOGIN_REQUIRED)


NODE_ALLOWED = frozenset({f"http://127.0.0.1:{PORT}"})


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (f"http://127.0.0.1:{PORT}", True),  # a dashboard's page
        (None, True),  # not a browser: a bot, the traffic generator, a benchmark
        ("http://127.0.0.1:9999", False),  # another port of the same machine
        (f"http://localhost:{PORT}", False),  # not among the registered origins
        ("http://evil.example", False),
        ("null", False),
    ],
)
async def test_a_node_lets_in_only_the_dashboards_pages_and_programs(
    origin: str | None, accepted: bool
) -> None:
    """A node's sockets: the registered dashboards' origins, or no Origin at all."""
    app = PageOriginValidator(_Accepting.as_asgi(), lambda: NODE_ALLOWED)
    assert (await _connects(app, origin))[0] is accepted


async def test_a_node_reads_the_origins_at_each_handshake() -> None:
    """A dashboard registered after the node started is let in at its next handshake."""
    allowed: set[str] = set()
    app = PageOriginValidator(_Accepting.as_asgi(), lambda: frozenset(allowed))
    assert (await _connects(app, "http://127.0.0.1:8555"))[0] is False
    allowed.add("http://127.0.0.1:8555")
    assert (await _connects(app, "http://127.0.0.1:8555"))[0] is True
