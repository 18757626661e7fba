"""Cross-origin rules of the gateway demo's servers: the lab's dashboard pages call them
with fetch.

A learner's tab on a dashboard (http://127.0.0.1:8000) calls the gateway listener
(http://127.0.0.1:8200), another origin, and for the side by side the catalog straight
through the balancer's services listener. The gateway edge answers CORS itself, for the registered
dashboards' exact origins only (core.origins), with credentials: POST /auth/token carries the
dashboard's session cookie (cookies are per host, not per port) for the instructor role. A
preflight is answered here and never forwarded; every answer, the edge's denials included,
names the page's origin, or a page could not read why it was refused. A page from any other
origin gets no grant, its preflight a 403, and the dashboard's cookie is not forwarded for
it: whatever a stranger's page makes a learner's browser send, it cannot act as them. The
catalog answers CORS by the same rules: a service behind a plain balancer has to.

The rules are pure; `middleware` applies them to a server's answers, and `follow` keeps its
copy of the registered origins (a CrossOrigin) current.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from archviz.core.http import NODE_HEADER
from archviz.core.origins import cors_headers, registered_dashboard_origins
from archviz.gateway import answers
from archviz.gateway.answers import Denial
from archviz.trace.events import TRACE_HEADER

log = logging.getLogger(__name__)

ALLOWED_METHODS = "GET, POST"  # every route's method (routes.ROUTES)
ALLOWED_HEADERS = f"Authorization, Content-Type, {TRACE_HEADER}"
# What a page shows of an answer; a browser hides every other non-safelisted header.
EXPOSED_HEADERS = ", ".join(
    (
        "RateLimit",
        "RateLimit-Policy",
        "Retry-After",
        "WWW-Authenticate",
        "Server-Timing",
        TRACE_HEADER,
        "X-Archviz-Gateway",  # the gateway replica that answered
        "X-Archviz-Service",  # the service replica that answered
        NODE_HEADER,  # the replica, as the balancer in front names it
    )
)
PREFLIGHT_MAX_AGE_S = 600
REFRESH_S = 1.0  # a dashboard that just started is granted within about this long


def from_dashboard(origin: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request may act with the dashboard's cookie: no Origin (a program, or a
    same-origin navigation), or a dashboard's page."""
    return origin is None or origin in allowed


def grant(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """The CORS headers of any answer to `origin`: a grant naming it for a dashboard's page,
    only `Vary: Origin` for anyone else."""
    headers = cors_headers(origin, allowed)
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return headers


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """A browser's CORS preflight: OPTIONS with Origin and Access-Control-Request-Method."""
    return (
        method == "OPTIONS" and "Origin" in headers and "Access-Control-Request-Method" in headers
    )


def preflight(origin: str, allowed: frozenset[str]) -> tuple[int, dict[str, str], Denial | None]:
    """The answer to a preflight: 204 with what may be sent, or a 403 for a stranger (the
    browser then sends nothing at all)."""
    headers = grant(origin, allowed)
    if "Access-Control-Allow-Origin" not in headers:
        return 403, headers, origin_refused(origin)
    headers |= {
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
    }
    return 204, headers, None


def origin_refused(origin: str) -> Denial:
    """403 for a page whose origin is no registered dashboard's."""
    return answers.forbidden_origin(origin)


async def read_origins(client: redis.Redis) -> frozenset[str] | None:
    """The registered dashboards' origins, read off the loop; None when Redis cannot say."""
    try:
        return await asyncio.to_thread(registered_dashboard_origins, client)
    except redis.RedisError as exc:
        log.debug("gateway: cannot read the dashboards (keeping the last origins): %s", exc)
        return None


@dataclass
class CrossOrigin:
    """One server's copy of the dashboards' origins, and what it answered and refused."""

    dashboard_origins: frozenset[str] = frozenset()
    preflights: int = 0  # answered here, never routed
    refused: int = 0  # preflights and sockets from an origin that is no dashboard's

    def allows(self, origin: str | None) -> bool:
        return from_dashboard(origin, self.dashboard_origins)

    def snapshot(self) -> dict[str, Any]:
        return {"preflights": self.preflights, "origin_refused": self.refused}


async def follow(
    holder: CrossOrigin,
    client: Callable[[], redis.Redis],
    stop: asyncio.Event,
    interval_s: float = REFRESH_S,
) -> None:
    """Keep `holder.dashboard_origins` current until `stop` is set; while Redis is away the
    last ones stay."""
    while not stop.is_set():
        if (origins := await read_origins(client())) is not None:
            holder.dashboard_origins = origins
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval_s):
                await stop.wait()


def middleware(cross: CrossOrigin, stamp: Mapping[str, str]) -> Middleware:
    """aiohttp middleware: a preflight answered here (with `stamp`: who answered), never
    routed; every other answer given the CORS headers of its Origin (a WebSocket's upgrade
    has sent its own by then)."""

    @web.middleware
    async def cross_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if is_preflight(request.method, request.headers):
            return _preflight(cross, origin or "", stamp)
        response = await handler(request)
        if not response.prepared:
            for name, value in grant(origin, cross.dashboard_origins).items():
                response.headers.add(name, value)
        return response

    return cross_origin


def _preflight(cross: CrossOrigin, origin: str, stamp: Mapping[str, str]) -> web.Response:
    """A preflight's answer, counted (a stranger's also as refused)."""
    cross.preflights += 1
    status, headers, denial = preflight(origin, cross.dashboard_origins)
    headers |= stamp
    if denial is None:
        return web.Response(status=status, headers=headers)
    cross.refused += 1
    headers |= dict(denial.headers)
    return web.Response(status=status, headers=headers, body=denial.json_bytes())
