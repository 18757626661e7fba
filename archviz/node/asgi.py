"""The node's ASGI application: Django with the node's own URLs, counting its connections."""

from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.core import signals
from django.core.asgi import get_asgi_application
from django.core.cache import close_caches
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.db import close_old_connections, reset_queries

from archviz.core import hooks
from archviz.core.metrics import ConnectionCounters
from archviz.core.origin_validator import PageOriginValidator
from archviz.node import door


class NodeRequest(ASGIRequest):
    # Django resolves a request's `urlconf` attribute before ROOT_URLCONF: the node
    # serves its own endpoints while sharing the project's settings.
    urlconf = "archviz.node.urls"


class NodeHandler(ASGIHandler):
    request_class = NodeRequest

    async def __call__(self, scope, receive, send) -> None:
        if door.is_work(scope):  # refused, queued and let in before Django (node/door.py)
            await door.work(self.handle, scope, receive, send)
            return
        # Django wraps each request in a ThreadSensitiveContext, which gives every request
        # its own executor: a thread started and joined per request (for the sync
        # `response.close` and signal receivers), about 3 ms of a node's CPU each, measured
        # with py-spy. The node's views are all async and it uses no database, so its few
        # sync calls share asgiref's one long-lived thread instead.
        await self.handle(scope, receive, send)


HEALTH_PATH = "/health"  # the balancer's checks: not counted as requests


class CountConnections:
    """ASGI middleware: open connections now, and requests completed so far, not counting
    the balancer's health checks (an idle node would show their rate, about 1/s, while the
    balancer's page says it sends the node nothing)."""

    def __init__(self, app, counters: ConnectionCounters) -> None:
        self.app = app
        self.counters = counters

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        self.counters.connections += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.counters.connections -= 1
            if scope.get("path") != HEALTH_PATH:
                self.counters.requests_total += 1


# The node's endpoints are internal JSON: no sessions, CSRF, auth or messages. Under
# ASGI every sync middleware, and every sync signal receiver, costs a thread hop per
# request, which would make the node, not the lesson, the bottleneck.
NODE_MIDDLEWARE: list[str] = []


async def _no_database_to_close() -> None:
    return None


def _no_database_around_socket_messages() -> None:
    """Channels closes stale database connections around every message a consumer handles
    (its connect, each frame, its disconnect): each a hop to a thread and back, a tenth of
    a node's CPU in bench.overload's storm (py-spy). The node's consumers use no database."""
    import channels.consumer
    import channels.generic.websocket

    channels.consumer.aclose_old_connections = _no_database_to_close
    channels.generic.websocket.aclose_old_connections = _no_database_to_close


def build_application(counters: ConnectionCounters, origins: Callable[[], frozenset[str]]):
    get_asgi_application()  # sets Django up exactly as the dashboard does
    settings.MIDDLEWARE = NODE_MIDDLEWARE  # this process serves only the node
    signals.request_started.disconnect(close_old_connections)  # the node uses no database
    signals.request_finished.disconnect(close_old_connections)
    signals.request_started.disconnect(reset_queries)  # a sync receiver: one thread hop each
    # Closing the caches after each request does nothing for the node's (locmem and Redis
    # close nothing) but look every cache up again in the request's context: a third of a
    # /health request's CPU.
    signals.request_finished.disconnect(close_caches)
    _no_database_around_socket_messages()
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    from archviz.node import handshake
    from archviz.node.consumers import HoldConsumer

    hooks.register_socket_admission(handshake)  # the apps' consumers admit through it too
    websockets = [path("ws/hold/", HoldConsumer.as_asgi())]
    for routes in hooks.node_routes():  # the apps' own (the chat's rooms)
        if routes.websocket_urls:
            websockets += import_module(routes.websocket_urls).websocket_urlpatterns
    application = ProtocolTypeRouter(
        {
            "http": NodeHandler(),
            "websocket": PageOriginValidator(URLRouter(websockets), origins),
        }
    )
    return CountConnections(application, counters)
