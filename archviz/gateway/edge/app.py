"""The gateway replica's aiohttp application: every request, whatever its path, goes
through `handle`, stage by stage (pipeline.py), and each stage is traced with its time.

HTTP is parsed by aiohttp's C parser, llhttp: the parser httptools wraps for the load
balancer. Nothing here parses HTTP by hand.

aiohttp's router is not the gateway's: one catch-all route hands the raw path to
routes.match, which knows the table. Query strings are not forwarded: no route takes one
but the WebSocket's `after`.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
import redis
import redis.asyncio
from aiohttp import WSCloseCode, web

from archviz.core.http import LAB_CLIENT_HEADER, is_lab_client, lab_client_token
from archviz.core.redis_conn import async_blocking_client, async_client, shared_client
from archviz.core.registry import Metrics, Registration
from archviz.core.runner import Component
from archviz.gateway import answers, cors, limits, serving
from archviz.gateway.answers import Denial
from archviz.gateway.bids import InvalidBid
from archviz.gateway.control import GatewayLimitCommand
from archviz.gateway.edge import dispatch, pipeline, policies, sockets
from archviz.gateway.edge.credentials import Credentials
from archviz.gateway.edge.dispatch import Answer, AttemptFailed, Outcome
from archviz.gateway.edge.pipeline import TRACE_HEADER, Timeline
from archviz.gateway.edge.state import Gateway, Stages, refuse, respond
from archviz.gateway.edge.upstreams import Source, Upstreams, trusted_replicas
from archviz.gateway.edge.watchers import Hub
from archviz.gateway.proto import bidding_pb2
from archviz.gateway.routes import Match, NoRoute, Route, match
from archviz.gateway.tokens import Claims
from archviz.trace.emitter import Emitter

log = logging.getLogger(__name__)

GATEWAY = web.AppKey("gateway", Gateway)
READY_S = 5.0  # how long start-up waits for the first reads of the registry and the keys
SERVICE_CONNECTIONS = 256  # to all the services' replicas together
KEEPALIVE_S = 30.0  # an idle connection to a service is kept this long (theirs: 75 s)
INTERNAL = Denial(500, (answers.JSON,), {"error": "internal", "message": "the gateway failed"})


def build(
    replica: str,
    trace: Emitter,
    *,
    client: Callable[[], redis.Redis] = shared_client,
    source: Source = trusted_replicas,
    pubsub: redis.asyncio.Redis | None = None,
    limiter: redis.asyncio.Redis | None = None,
) -> Gateway:
    """A replica's parts (nothing connects before the application starts)."""
    credentials = Credentials(client)
    hub = Hub(replica, trace, pubsub or async_blocking_client(), on_keys_changed=credentials.notice)
    gateway = Gateway(replica, trace, client, credentials, Upstreams(source), hub)
    gateway.limiter = limiter or async_client()
    credentials.on_tick(lambda: sockets.check_tokens(gateway))
    gateway.upstreams.on_change(lambda found: gateway.bidding.keep_only(found.get("bidding", [])))
    return gateway


def make_app(gateway: Gateway) -> web.Application:
    stamp = {pipeline.GATEWAY_HEADER: gateway.replica}
    app = web.Application(middlewares=[cors.middleware(gateway.cors, stamp)])
    app[GATEWAY] = gateway
    app.router.add_get(HEALTH_PATH, health)  # the balancer's check, never a service route
    app.router.add_route("*", "/{tail:.*}", handle)
    app.cleanup_ctx.append(_background)
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    """While the application runs: the client session, the pub/sub connection, and the
    refreshes of the registry and the key ring."""
    gateway = app[GATEWAY]
    gateway.session = service_session()
    stop = asyncio.Event()
    await gateway.hub.start()
    await gateway.credentials.refresh()  # the key ring, before the first request
    if (origins := await cors.read_origins(gateway.client())) is not None:
        gateway.cors.dashboard_origins = origins  # and the dashboards' pages
    await policies.refresh(gateway)  # and the rate limits in force
    tasks = [
        asyncio.create_task(gateway.credentials.run(stop), name="gateway-keys"),
        asyncio.create_task(gateway.upstreams.run(stop), name="gateway-upstreams"),
        asyncio.create_task(
            cors.follow(gateway.cors, gateway.client, stop), name="gateway-origins"
        ),
        asyncio.create_task(policies.follow(gateway, stop), name="gateway-policies"),
    ]
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(READY_S):
            await gateway.upstreams.refreshed.wait()
    yield
    stop.set()
    gateway.credentials.wake()
    for ws in list(gateway.sockets):
        with contextlib.suppress(Exception):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"the gateway is stopping")
    await asyncio.gather(*tasks, return_exceptions=True)
    await gateway.session.close()
    await gateway.bidding.close()
    await gateway.hub.close()
    if gateway.limiter is not None:
        await gateway.limiter.aclose()


def service_session() -> aiohttp.ClientSession:
    """The services' HTTP client: keep-alive connections, reused request after request (a
    new one costs a handshake and a slow start); no cookie jar, as cookies are the
    clients' and never the gateway's to keep; no headers of its own."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=SERVICE_CONNECTIONS, keepalive_timeout=KEEPALIVE_S),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
    )


HEALTH_PATH = "/gateway/health"  # what the balancer's gateway listener checks


async def health(request: web.Request) -> web.Response:
    """200 while this replica serves: the balancer sends it new connections."""
    return web.json_response({"replica": request.app[GATEWAY].replica, "ok": True})


async def handle(request: web.Request) -> web.StreamResponse:
    """Every request: counted while in flight, and never an unhandled error."""
    gateway = request.app[GATEWAY]
    stages = Stages(gateway, pipeline.trace_id(request.headers.get(TRACE_HEADER)), Timeline())
    gateway.counts.in_flight += 1
    try:
        return await _handle(request, gateway, stages)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        log.exception("gateway: %s %s failed", request.method, request.raw_path[:100])
        return refuse(stages, "response", INTERNAL)
    finally:
        gateway.counts.in_flight -= 1


async def _handle(request: web.Request, gateway: Gateway, stages: Stages) -> web.StreamResponse:
    path = request.raw_path.split("?", 1)[0]
    found = match(request.method, path, gateway.routes)
    if isinstance(found, NoRoute):
        stages.stage("route", ok=False, status=found.status)
        return refuse(stages, "route", found.denial(path))
    route = found.route
    stages.route = route.name
    if too_large := pipeline.body_too_large(route, request.content_length):
        stages.stage("route", ok=False, status=413)
        return refuse(stages, "route", too_large)
    if route.protocol == "websocket":
        return await sockets.watch(request, gateway, found, stages)
    body = await _read_body(request, route.max_body_bytes)
    if body is None:
        stages.stage("route", ok=False, status=413)
        return refuse(stages, "route", answers.body_too_large(route.max_body_bytes))
    stages.stage("route")
    return await _authenticated(request, gateway, stages, found, body)


async def _read_body(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (read no further than that)."""
    if not request.body_exists:
        return b""
    data = await dispatch.read_bounded(request.content, limit)
    return None if len(data) > limit else data


def _address(request: web.Request) -> str:
    return pipeline.client_address(
        request.remote,
        request.headers.get("X-Forwarded-For"),
        lab_client=is_lab_client(request.headers.get(LAB_CLIENT_HEADER)),
    )


async def _authenticated(
    request: web.Request, gateway: Gateway, stages: Stages, found: Match, body: bytes
) -> web.StreamResponse:
    """Authenticate, authorise and rate-limit; then dispatch."""
    route = found.route
    header = request.headers.get("Authorization")
    checked = pipeline.authenticate(route, header, gateway.credentials.verify)
    if checked.error == "unknown_key" and await gateway.credentials.forced_refresh():
        checked = pipeline.authenticate(route, header, gateway.credentials.verify)
    address = _address(request)
    stages.consumer = pipeline.consumer(checked.claims, address)
    stages.error = checked.error
    claims = checked.claims
    detail = {"sub": claims["sub"], "role": claims["role"]} if claims else {}
    stages.stage(
        "authenticate",
        ok=checked.denial is None,
        public=route.scopes is None,
        error=checked.error,
        **detail,
    )
    if checked.denial is not None:
        return refuse(stages, "authenticate", checked.denial)
    denial = pipeline.authorise(route, claims)
    stages.stage("authorise", ok=denial is None, needs=sorted(route.scopes or ()))
    if denial is not None:
        return refuse(stages, "authorise", denial)
    verdict = await gateway.rate_limit(route.rate_class, stages.consumer)
    allowed = verdict is None or verdict.allowed
    stages.stage(
        "limit",
        ok=allowed,
        dst="redis",
        rate_class=route.rate_class,
        remaining=None if verdict is None else verdict.remaining,
    )
    if verdict is not None and not verdict.allowed:
        return refuse(stages, "limit", verdict.denial())
    rate_headers = verdict.headers() if verdict is not None else []
    outcome = await _dispatch(request, gateway, stages, found, body, claims, address)
    stages.timeline.lap()  # each attempt was traced on its own
    stages.upstream_ms = outcome.upstream_ms if outcome.upstream_ms else None
    stages.timeline.waited(outcome.upstream_ms)
    if outcome.denial is not None:
        return refuse(stages, "dispatch", outcome.denial, rate_headers)
    answer = outcome.answer
    assert answer is not None
    return respond(
        stages, answer.status, [*answer.headers, *rate_headers], answer.body, denied=False
    )


async def _dispatch(
    request: web.Request,
    gateway: Gateway,
    stages: Stages,
    found: Match,
    body: bytes,
    claims: Claims | None,
    address: str,
) -> Outcome:
    """The route's service, over HTTP or gRPC, within its deadline."""
    route = found.route
    deadline = asyncio.get_running_loop().time() + route.deadline_ms / 1000
    observe = _observer(gateway, stages, route)
    clock = asyncio.get_running_loop().time
    if route.protocol == "grpc":
        try:
            bid = pipeline.parse_bid(body)
        except InvalidBid as exc:
            return Outcome(None, answers.bad_request(str(exc)), 0.0)
        assert claims is not None  # the bid route has scopes: a token was verified
        grpc_request = bidding_pb2.PlaceBidRequest(
            auction_id=found.params["id"],
            bidder=claims["sub"],
            amount_cents=bid.amount_cents,
            request_id=bid.request_id,
            trace_id=stages.trace,
        )

        async def place(replica: Registration, timeout_s: float) -> Answer:
            return await gateway.bidding.place_bid(replica, grpc_request, timeout_s)

        return await dispatch.dispatch(
            gateway.upstreams,
            route,
            place,
            deadline=deadline,
            has_request_id=True,
            observe=observe,
            clock=clock,
        )
    headers = _forwarded_headers(request, route, stages.trace, address, gateway.cors)
    session = gateway.session
    assert session is not None

    async def send(replica: Registration, timeout_s: float) -> Answer:
        return await dispatch.send_http(
            session, replica, request.method, found_path(found), headers, body, timeout_s
        )

    return await dispatch.dispatch(
        gateway.upstreams, route, send, deadline=deadline, observe=observe, clock=clock
    )


def found_path(found: Match) -> str:
    """The path the service is asked for: the route's pattern with its parameters."""
    parts = [found.params.get(s[1:-1], s) if s.startswith("<") else s for s in found.route.segments]
    return "/" + "/".join(parts)


def _forwarded_headers(
    request: web.Request, route: Route, trace: str, address: str, cross: cors.CrossOrigin
) -> dict[str, str]:
    """What a service is told: the trace id, who the client is (with the lab client header
    that lets the auth service believe it), the body's type, and the Authorization as the
    client sent it (verified here, and the service's own to check again: the catalog counts
    what reached it by it); the auth service also gets the Cookie (an instructor's dashboard
    session) when the request comes from a dashboard's page or from no page at all
    (CrossOrigin.allows)."""
    headers = {
        TRACE_HEADER: trace,
        "X-Forwarded-For": address,
        "Accept": "application/json",
        LAB_CLIENT_HEADER: lab_client_token(),
    }
    if content_type := request.headers.get("Content-Type"):
        headers["Content-Type"] = content_type
    if authorization := request.headers.get("Authorization"):
        headers["Authorization"] = authorization
    cookie = request.headers.get("Cookie")
    if route.service == "auth" and cookie and cross.allows(request.headers.get("Origin")):
        headers["Cookie"] = cookie
    return headers


def _observer(gateway: Gateway, stages: Stages, route: Route) -> dispatch.Observer:
    """Each attempt traced (gateway.dispatch; a retry also gateway.retry) and counted."""

    def observe(
        replica: Registration,
        ms: float,
        status: int | None,
        failed: AttemptFailed | None,
        retry: bool,
    ) -> None:
        gateway.counts.sent(route.service)
        if retry:
            gateway.counts.retries += 1
            stages.emit("gateway.retry", replica.id, ok=failed is None, service=route.service)
        stages.emit(
            "gateway.dispatch",
            replica.id,
            ok=failed is None and (status or 0) < 500,
            ms=ms,
            service=route.service,
            protocol=route.protocol,
            status=status,
            failure=failed.failure if failed else None,
            retry=retry,
        )

    return observe


# --- as a component ----------------------------------------------------------------------


def metrics(gateway: Gateway, running: Component) -> Metrics:
    """For the heartbeat: requests in flight, per second, and the gateway's counts."""
    running.counters.requests_total = gateway.counts.total
    extra = gateway.counts.snapshot(gateway.hub.count, gateway.hub.refs.counts())
    extra |= gateway.cors.snapshot()
    extra["policies"] = {
        name: {"rate": p.rate, "burst": p.burst, "default": p == limits.POLICIES[name]}
        for name, p in gateway.policies.items()
    }
    return running.metrics(
        connections=gateway.counts.in_flight + len(gateway.sockets),
        rps=running.counters.requests_per_second(),
        extra=extra,
    )


async def serve(running: Component, stop: asyncio.Event, *, host: str, port: int) -> None:
    """Serve as replica `running.id` on host:port (0: a free one) until `stop` is set;
    registered once it listens and has read the registry, and carrying out gateway.limit."""
    gateway = build(running.id, running.trace)

    def commands() -> list[asyncio.Task]:
        return [running.listen("gateway.limit", lambda command: _set_limit(gateway, command))]

    await serving.serve_app(
        make_app(gateway),
        running,
        stop,
        host=host,
        port=port,
        path="/",
        metrics=lambda: metrics(gateway, running),
        while_serving=commands,
    )


async def _set_limit(gateway: Gateway, command: GatewayLimitCommand) -> None:
    """Carry out `gateway.limit` (each replica writes the same), then apply it here now."""
    await gateway.in_thread(policies.carry_out, command)
    await policies.refresh(gateway)
