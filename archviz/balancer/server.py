"""The balancer's HTTP server: aiohttp's low-level server, so that it may answer bad requests.

aiohttp answers every request it cannot parse with 400. A request whose headers are too big
deserves 431 (RFC 6585) and one whose request line is too long 414, so the server makes its
own connection handler that tells them apart. Every such answer closes the connection; the
other connections are not affected.
"""

import logging
from http import HTTPStatus

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from archviz.balancer.headers import NO_NODE, NODE_HEADER

log = logging.getLogger(__name__)

# Distinct limits, so a LineTooLong says which part of the request was too long.
MAX_REQUEST_LINE = 8190  # aiohttp's default
MAX_HEADER_FIELD = 8192  # one header, name and value
MAX_HEADERS = 128
KEEPALIVE_TIMEOUT_S = 15.0


def status_for(exc: HttpProcessingError) -> HTTPStatus:
    """The status a request aiohttp could not parse gets."""
    if isinstance(exc, LineTooLong):
        limit = str(exc.args[1]) if len(exc.args) > 1 else ""
        if limit == str(MAX_HEADER_FIELD):
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        if limit == str(MAX_REQUEST_LINE):
            return HTTPStatus.REQUEST_URI_TOO_LONG
    if "too many headers" in exc.message.lower():
        return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    return HTTPStatus.BAD_REQUEST


class _ConnectionHandler(web.RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            response = super().handle_error(request, status, exc, message)
            response.headers[NODE_HEADER] = NO_NODE
            return response
        refused = status_for(exc)
        # One line, no traceback: a bad request is the client's problem, not ours.
        log.info("lb: answered %d to a bad request from %s", refused, request.remote)
        response = web.Response(
            status=refused,
            text=f"{refused.value} {refused.phrase}\n",
            headers={NODE_HEADER: NO_NODE},
        )
        response.force_close()
        return response


class ProxyServer(web.Server):
    """aiohttp's low-level server with our connection handler; every request goes to one
    handler (the proxy needs no routes)."""

    def __init__(
        self, handler, *, keepalive_timeout: float = KEEPALIVE_TIMEOUT_S, **kwargs
    ) -> None:
        super().__init__(
            handler,
            keepalive_timeout=keepalive_timeout,
            max_line_size=MAX_REQUEST_LINE,
            max_field_size=MAX_HEADER_FIELD,
            max_headers=MAX_HEADERS,
            auto_decompress=False,  # bodies pass through as sent, Content-Encoding and all
            access_log=None,
            **kwargs,
        )

    def __call__(self) -> web.RequestHandler:
        return _ConnectionHandler(self, loop=self._loop, **self._kwargs)
