"""The auth service: it signs the gateway's tokens and publishes the keys that check them
(aiohttp.web). It serves the auth routes of routes.py, and only those:

    POST /auth/token              {"name", "role"}: a signed token. Anyone may be a viewer or
                                  a bidder; an instructor (their dashboard session, in the
                                  forwarded Cookie) may also ask for "instructor"
    GET  /auth/jwks.json          the public keys (RFC 7517) every verifier needs
    POST /auth/keys/rotate        instructors (auth_admin.py): rotate the signing key,
    POST /auth/tokens/revoke      revoke one token,
    POST /auth/tokens/expire-all  or expire every token issued so far
    GET  /auth/health             200 while it reaches Redis (for probes, not routed)

Every answer is JSON ({"error", "message"} for a refusal, as the gateway's own answers), and
names the replica in X-Archviz-Service. A flood of token requests meets a rate limit here
too, not only at the gateway: the service can be reached directly (the "bypass" demo).
"""

import asyncio
import ipaddress
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import redis
from aiohttp import web
from django.conf import settings
from django.http.cookie import parse_cookie

from archviz.core.http import LAB_CLIENT_HEADER, is_lab_client
from archviz.core.instructor import PERMISSION
from archviz.core.logins import session_user
from archviz.core.ratelimit import Limit, level_shared, take_shared
from archviz.core.redis_conn import shared_client
from archviz.core.registry import Metrics
from archviz.core.runner import Component
from archviz.gateway import answers, auth_admin, keys, limits, serving, signing_keys, tokens
from archviz.gateway.answers import Denial
from archviz.gateway.auth_http import (
    CALLER,
    CLIENT,
    CLOCK,
    COUNTS,
    EMITTER,
    NAME,
    SERVICE,
    Caller,
    Counts,
    Refused,
    denial_response,
    emit,
    in_thread,
    json_response,
    read_body,
    refusal,
)
from archviz.gateway.routes import ROUTES, Route, scopes_for
from archviz.gateway.token_requests import (
    SELF_SERVICE_ROLES,
    TokenRequest,
    TokenRequestRefused,
    parse_token_request,
)
from archviz.trace.emitter import Emitter, get_emitter

log = logging.getLogger(__name__)

JWKS_MAX_AGE_S = 5  # a verifier that caches the set sees a new key within this
# Per consumer, a little looser than the gateway's "token" class (1/s, 5 at once): through
# the gateway a client meets the gateway's limit first; this one stops what bypasses it.
TOKEN_POLICY = limits.Policy("auth-token", 2, 10)

MAX_BODY_BYTES = max(route.max_body_bytes for route in ROUTES if route.service == SERVICE)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteHandler = Callable[[web.Request, Route], Awaitable[web.StreamResponse]]


# --- the application ------------------------------------------------------------------------


def make_app(
    name: str,
    client: Callable[[], redis.Redis] = shared_client,
    *,
    emitter: Callable[[], Emitter] = get_emitter,
    caller: Callable[[str], Caller] | None = None,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The auth service's application, answering as replica `name`. `caller(session_key)`
    says who a dashboard session is (blocking: it is run in a thread)."""
    app = web.Application(middlewares=[_json_errors], client_max_size=MAX_BODY_BYTES)
    app[NAME], app[CLIENT], app[EMITTER], app[CLOCK] = name, client, emitter, clock
    app[CALLER] = caller or session_caller
    app[COUNTS] = Counts()
    handlers: dict[str, RouteHandler] = {"auth.token": issue_token, "auth.jwks": jwks,
                                         **auth_admin.HANDLERS}  # fmt: skip
    for route in auth_routes():
        app.router.add_route(route.method, route.pattern, _bound(route, handlers[route.name]))
    app.router.add_get("/auth/health", health)
    app.on_startup.append(_first_key)
    return app


def auth_routes() -> tuple[Route, ...]:
    """The routes of the gateway's table that the auth service serves."""
    return tuple(route for route in ROUTES if route.service == SERVICE)


def _bound(route: Route, handle: RouteHandler) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await handle(request, route)

    return handler


# --- POST /auth/token -------------------------------------------------------------------------


async def issue_token(request: web.Request, route: Route) -> web.Response:
    """A token for the name and role asked for, after the consumer's rate limit; the
    RateLimit headers on every answer, the 429 included."""
    verdict = await in_thread(request, _take_token, consumer(request))  # a 429 is not traced
    rate_headers = verdict.headers()
    if not verdict.allowed:
        raise Refused(verdict.denial())
    try:
        response = await _issue(request, route)
    except Refused as refused:
        denial = refused.denial
        raise Refused(denial._replace(headers=(*denial.headers, *rate_headers))) from None
    response.headers.extend(rate_headers)
    return response


async def _issue(request: web.Request, route: Route) -> web.Response:
    body = await read_body(request, route)
    asked = _token_request(body, instructor=True)  # checked whole; the role's right below
    if asked.role not in SELF_SERVICE_ROLES:
        await _require_instructor(request, asked.role)
    now = request.app[CLOCK]()
    key = await in_thread(request, _signing_key, now)
    jti = secrets.token_urlsafe(16)
    token = tokens.issue(asked.name, asked.role, key, now, asked.ttl_s, jti=jti)
    request.app[COUNTS].issue(asked.role)
    expires_in = int(asked.ttl_s) if asked.ttl_s == int(asked.ttl_s) else asked.ttl_s
    emit(request, "auth.issue", "client", sub=asked.name, role=asked.role, kid=key.kid,
         jti=jti[:8], ttl_s=expires_in)  # fmt: skip
    scope = " ".join(scopes_for(asked.role))
    body_out = {"token": token, "token_type": "Bearer", "expires_in": expires_in,
                "role": asked.role, "scope": scope, "kid": key.kid, "jti": jti}  # fmt: skip
    # RFC 6749 §5.1: a response with a token is never cached
    return json_response(request, body_out, headers={"Pragma": "no-cache"})


def _token_request(body: bytes, *, instructor: bool) -> TokenRequest:
    try:
        return parse_token_request(body, instructor=instructor)
    except TokenRequestRefused as exc:
        error = "bad_request" if exc.status == 400 else "forbidden"
        raise Refused(refusal(exc.status, error, exc.message)) from None


async def _require_instructor(request: web.Request, role: str) -> None:
    """Only an instructor of the dashboard may have a role beyond viewer and bidder."""
    session_key = parse_cookie(request.headers.get("Cookie", "")).get(settings.SESSION_COOKIE_NAME)
    who: Caller = "anonymous"
    if session_key:
        who = await asyncio.to_thread(request.app[CALLER], session_key)
    if who == "instructor":
        return
    if who == "learner":
        message = f"only an instructor may ask for the role {role}: your dashboard login is not one"
    else:
        message = f"only an instructor may ask for the role {role}: log in to the dashboard first"
    emit(request, "auth.issue", "client", ok=False, role=role, reason=message)
    raise Refused(refusal(403, "forbidden", message))


def session_caller(session_key: str) -> Caller:
    """Who a dashboard session is (Django's session framework; blocking, the database)."""
    user = session_user(session_key)
    if user is None:
        return "anonymous"
    return "instructor" if user.has_perm(PERMISSION) else "learner"


def _signing_key(client: redis.Redis, now: float) -> tokens.SigningKey:
    try:
        return signing_keys.current_signing_key(client, now)
    except (ValueError, RuntimeError) as exc:  # a planted or lost key: sign nothing
        log.error("auth: the key ring in Redis is unusable: %s", exc)
        raise Refused(answers.service_unavailable(SERVICE, "the signing key is unusable")) from None


def consumer(request: web.Request) -> str:
    """Whose bucket a token request draws from: the client's address. A request relayed by
    one of the lab's own processes (it carries the lab client header: the gateway) is the
    address that process appended to X-Forwarded-For; anyone else's is the peer address,
    whatever headers it sends."""
    address = request.remote or ""
    if is_lab_client(request.headers.get(LAB_CLIENT_HEADER)):
        address = forwarded_for(request.headers.get("X-Forwarded-For")) or address
    return limits.consumer(None, address)


def forwarded_for(value: str | None) -> str | None:
    """The last address of an X-Forwarded-For header (the one the nearest proxy added), if it
    is an IP address (pure)."""
    last = (value or "").rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


def _take_token(client: redis.Redis, who: str) -> limits.Verdict:
    limit = Limit(keys.rate_bucket(TOKEN_POLICY.name, who), TOKEN_POLICY.rate, TOKEN_POLICY.burst)
    short = take_shared(client, [limit])
    if short is not None:
        return limits.refused(TOKEN_POLICY, short.retry_after_s)
    return limits.allowed(TOKEN_POLICY, level_shared(client, limit))


# --- GET /auth/jwks.json, /auth/health -------------------------------------------------------


async def jwks(request: web.Request, route: Route) -> web.Response:
    """The public keys accepted now, the current one first; cacheable for a few seconds."""
    found = await in_thread(request, signing_keys.jwks, request.app[CLOCK]())
    response = json_response(request, found)
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_S}"
    response.content_type = "application/jwk-set+json"
    return response


async def health(request: web.Request) -> web.Response:
    await in_thread(request, lambda client: client.ping())
    return json_response(request, {"ok": True, "id": request.app[NAME]})


def _http_denial(exc: web.HTTPException, path: str) -> Denial:
    """aiohttp's own refusals (no route, wrong method, a body past client_max_size) as ours."""
    if exc.status == 405:
        allow = tuple(m.strip() for m in exc.headers.get("Allow", "").split(",") if m.strip())
        return answers.method_not_allowed(allow)
    if exc.status == 404:
        return answers.not_found(path)
    if exc.status == 413:
        return answers.body_too_large(MAX_BODY_BYTES)
    return refusal(exc.status, "bad_request" if exc.status < 500 else "error", exc.reason)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer JSON (no route, a wrong method, a big body, Redis away, a bug included),
    every refusal counted by its error."""
    counts = request.app[COUNTS]
    counts.in_flight += 1
    try:
        return await handler(request)
    except Refused as refused:
        return denial_response(request, refused.denial)
    except web.HTTPException as exc:
        return denial_response(request, _http_denial(exc, request.path))
    except redis.RedisError as exc:
        log.warning("auth: Redis did not answer: %s", exc)
        message = "the auth service cannot reach Redis"
        return denial_response(request, answers.service_unavailable(SERVICE, message))
    except Exception:  # a bug: said in JSON like the rest, and logged with its traceback
        log.exception("auth: %s %s failed", request.method, request.path[:100])
        return denial_response(request, refusal(500, "internal_error", "the auth service failed"))
    finally:
        counts.in_flight -= 1
        counts.requests += 1


# --- the process -------------------------------------------------------------------------------


def metrics(app: web.Application, running: Component) -> Metrics:
    """For the heartbeat: requests in flight and per second, tokens issued, refusals."""
    counts = app[COUNTS]
    running.counters.requests_total = counts.requests
    rps = running.counters.requests_per_second()
    return running.metrics(connections=counts.in_flight, rps=rps, extra=counts.snapshot())


async def serve(running: Component, stop: asyncio.Event, *, host: str, port: int) -> None:
    """Serve the auth service on host:port (0: a free one) until `stop` is set; register
    with the port bound."""
    app = make_app(running.id, emitter=lambda: running.trace)
    await serving.serve_app(
        app,
        running,
        stop,
        host=host,
        port=port,
        path="/auth/",
        metrics=lambda: metrics(app, running),
    )


async def _first_key(app: web.Application) -> None:
    """Make the first signing key now if the ring is empty, so the key set served is never
    empty (and the first token is not slower than the others)."""
    try:
        await asyncio.to_thread(signing_keys.current_signing_key, app[CLIENT](), app[CLOCK]())
    except (redis.RedisError, ValueError, RuntimeError) as exc:
        log.warning("auth: could not read or make the signing key (will at each request): %s", exc)
