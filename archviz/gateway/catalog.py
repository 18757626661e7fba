"""The catalog service: the auctions and their items, as JSON over HTTP (aiohttp.web).

    GET /catalog/auctions        every auction, the soonest to end first
    GET /catalog/auctions/<id>   one auction (404 if there is none)
    GET /catalog/health          200 while it reaches Redis, else 503

Every answer is JSON, errors too ({"error": "..."}), and names the replica that answered in
X-Archviz-Service. It only reads: bids go to the bidding service.

It is reached through the gateway, or past it through the balancer's services listener (the
side by side): so it answers CORS for the dashboards' pages (cors.py), and counts every
request by the token it carried (reached.py), without refusing any.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis
from aiohttp import web

from archviz.core.redis_conn import shared_client
from archviz.core.registry import Metrics
from archviz.core.runner import Component
from archviz.gateway import auction, cors, reached, serving
from archviz.gateway.cors import CrossOrigin
from archviz.gateway.reached import TokenCensus
from archviz.trace.events import now_ms

log = logging.getLogger(__name__)

SERVICE_HEADER = "X-Archviz-Service"
NAME = web.AppKey("name", str)
CLIENT = web.AppKey("client", Callable[[], redis.Redis])
COUNTERS = web.AppKey("counters", dict)
CROSS = web.AppKey("cross", CrossOrigin)
CENSUS = web.AppKey("census", TokenCensus)
HEALTH_PATH = "/catalog/health"  # the balancer's services listener checks it
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(name: str, client: Callable[[], redis.Redis] = shared_client) -> web.Application:
    """The catalog's application, answering as replica `name`."""
    cross, census = CrossOrigin(), TokenCensus()
    app = web.Application(
        middlewares=[
            cors.middleware(cross, {SERVICE_HEADER: name}),
            reached.middleware(census, skip=frozenset({HEALTH_PATH})),
            _json_errors,
        ]
    )
    app[NAME], app[CLIENT], app[CROSS], app[CENSUS] = name, client, cross, census
    app[COUNTERS] = {"in_flight": 0, "requests": 0}
    app.router.add_get("/catalog/auctions", list_auctions)
    app.router.add_get("/catalog/auctions/{auction_id}", one_auction)
    app.router.add_get(HEALTH_PATH, health)
    app.cleanup_ctx.append(_following)
    return app


async def _following(app: web.Application) -> AsyncIterator[None]:
    """While it runs: the key ring (read before the first request) and the dashboards."""
    client, stop = app[CLIENT], asyncio.Event()
    await app[CENSUS].refresh(client())
    tasks = [
        asyncio.create_task(app[CENSUS].run(client, stop), name="catalog-keys"),
        asyncio.create_task(cors.follow(app[CROSS], client, stop), name="catalog-origins"),
    ]
    yield
    stop.set()
    for task in tasks:
        with contextlib.suppress(Exception):
            await task


async def list_auctions(request: web.Request) -> web.Response:
    found = await _read(request, auction.read_auctions)
    now = now_ms()
    return _json(request, {"auctions": [a.view(now) for a in found]})


async def one_auction(request: web.Request) -> web.Response:
    auction_id = request.match_info["auction_id"]
    found = await _read(request, auction.read_auction, auction_id)
    if found is None:
        return _json(request, {"error": f"there is no auction {auction_id[:40]!r}"}, status=404)
    return _json(request, found.view(now_ms()))


async def health(request: web.Request) -> web.Response:
    await _read(request, lambda client: client.ping())
    return _json(request, {"ok": True, "id": request.app[NAME]})


async def _read(request: web.Request, read: Callable[..., Any], *args: Any) -> Any:
    """`read(client, *args)` in a thread, off the event loop (the client's short timeout
    bounds it)."""
    return await asyncio.to_thread(read, request.app[CLIENT](), *args)


def _json(request: web.Request, body: dict[str, Any], status: int = 200) -> web.Response:
    headers = {SERVICE_HEADER: request.app[NAME], "Cache-Control": "no-store"}
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer JSON, a wrong path or method and Redis away included; and counted."""
    counters = request.app[COUNTERS]
    counters["in_flight"] += 1
    try:
        return await handler(request)
    except web.HTTPException as exc:
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        response = _json(request, {"error": exc.reason}, status=exc.status)
        response.headers.update(headers)
        return response
    except redis.RedisError as exc:
        log.warning("catalog: Redis did not answer: %s", exc)
        return _json(request, {"error": "the catalog cannot reach Redis"}, status=503)
    finally:
        counters["in_flight"] -= 1
        counters["requests"] += 1


def metrics(app: web.Application, running: Component) -> Metrics:
    """For the heartbeat: requests in flight and per second, what reached it by token."""
    counters = app[COUNTERS]
    running.counters.requests_total = counters["requests"]
    return running.metrics(
        connections=counters["in_flight"],
        rps=running.counters.requests_per_second(),
        extra=extra(app),
    )


def extra(app: web.Application) -> dict[str, Any]:
    """The metrics' extra: `reached_by_token` {class: requests} (reached.CLASSES), and the
    CORS preflights answered and origins refused."""
    return {"reached_by_token": app[CENSUS].snapshot(), **app[CROSS].snapshot()}


async def serve(running: Component, stop: asyncio.Event, *, host: str, port: int) -> None:
    """Serve the catalog on host:port (0: a free one) until `stop` is set; register with the
    port bound. It opens the demo's auctions if they are missing, as the bidding service
    does, so that the catalog is never empty because it started first."""
    app = make_app(running.id)
    await serving.serve_app(
        app,
        running,
        stop,
        host=host,
        port=port,
        path="/catalog/",
        metrics=lambda: metrics(app, running),
        before_register=_open_demo,
    )


async def _open_demo() -> None:
    try:
        await asyncio.to_thread(lambda: auction.open_demo(shared_client(), now_ms()))
    except redis.RedisError as exc:
        log.warning("catalog: could not open the demo's auctions: %s", exc)
