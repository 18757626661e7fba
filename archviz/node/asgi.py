"""The node's ASGI application: Django with the node's own URLs, counting its connections."""

import json
from collections.abc import Callable
from importlib import import_module
from urllib.parse import parse_qs

from django.conf import settings
from django.core import signals
from django.core.asgi import get_asgi_application
from django.core.cache import close_caches
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.db import close_old_connections, reset_queries

from archviz.core import hooks
from archviz.core.http import LAB_CLIENT_HEADER, NODE_HEADER
from archviz.core.metrics import ConnectionCounters
from archviz.core.origin_validator import PageOriginValidator
from archviz.node.refusal import DEFAULT_WORK_MS, refuse_work
from archviz.node.runtime import get_runtime

LAB_CLIENT = LAB_CLIENT_HEADER.lower().encode()  # as ASGI gives header names


class NodeRequest(ASGIRequest):
    # Django resolves a request's `urlconf` attribute before ROOT_URLCONF: the node
    # serves its own endpoints while sharing the project's settings.
    urlconf = "archviz.node.urls"


WORK_PATH = "/work"  # archviz/node/urls.py's


class NodeHandler(ASGIHandler):
    request_class = NodeRequest

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == WORK_PATH and scope["method"] == "GET":
            refused = _refused_at_the_door(scope)
            if refused is not None:
                await _answer(send, refused)
                return
        # Django wraps each request in a ThreadSensitiveContext, which gives every request
        # its own executor: a thread started and joined per request (for the sync
        # `response.close` and signal receivers), about 3 ms of a node's CPU each, measured
        # with py-spy. The node's views are all async and it uses no database, so its few
        # sync calls share asgiref's one long-lived thread instead.
        await self.handle(scope, receive, send)


def _refused_at_the_door(scope) -> tuple[int, dict, dict[str, str]] | None:
    """node/refusal.py's verdict on a /work request, read from the ASGI scope as the view
    reads it from Django's request (the last `ms` given; the lab client's header)."""
    runtime = get_runtime()
    query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    lab_client = next((v.decode("latin-1") for k, v in scope["headers"] if k == LAB_CLIENT), None)
    _work_ms, refused = refuse_work(runtime, query.get("ms", [DEFAULT_WORK_MS])[-1], lab_client)
    if refused is None:
        return None
    return refused.status, refused.body, {NODE_HEADER: runtime.node_id} | refused.headers


async def _answer(send, refused: tuple[int, dict, dict[str, str]]) -> None:
    """The refusal as the view's JsonResponse would have sent it."""
    status, body, headers = refused
    content = json.dumps(body).encode()
    fields = {"Content-Type": "application/json", "Content-Length": str(len(content))} | headers
    raw = [(name.lower().encode(), value.encode()) for name, value in fields.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": content})


class CountConnections:
    """ASGI middleware: open connections now, and requests completed so far."""

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
