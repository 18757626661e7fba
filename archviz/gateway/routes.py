"""The gateway's route table as data, and the two decisions made on it before any service
is asked: which route a request is (404 and 405 from the gateway itself), and whether its
token's scopes allow it (403).

Pure: no I/O. Paths are matched segment by segment against the table; an `<id>` segment
takes only `[a-z0-9-]{1,40}`, so nothing odd in a path (dots, percent signs, empty
segments, a trailing slash that the table does not have) ever reaches a service.
"""

import re
from typing import Literal, NamedTuple

from archviz.gateway import answers
from archviz.gateway.answers import Denial

Service = Literal["auth", "catalog", "bidding", "gateway"]
Protocol = Literal["http", "grpc", "websocket"]
RateClass = Literal["token", "read", "watch", "bid", "admin"]

ID = re.compile(r"[a-z0-9-]{1,40}")
MAX_PATH_CHARS = 512  # longer than any route's path can be: refused unread
KIB = 1024

# Scopes (RFC 8693's `scope` claim: space-separated names).
READ = "auctions:read"
WATCH = "auctions:watch"
BID = "bids:write"
ADMIN = "auth:admin"  # the instructor's routes: rotate keys, revoke, expire every token

ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "viewer": (READ, WATCH),
    "bidder": (READ, WATCH, BID),
    "instructor": (READ, WATCH, BID, ADMIN),
}


class Route(NamedTuple):
    """One row of the table. `scopes` None: public (no token asked for); else every scope
    named must be granted. `idempotent`: a retry on another replica is safe."""

    name: str
    method: str
    pattern: str  # "/catalog/auctions/<id>": literal segments and <param> segments
    service: Service  # "gateway": the replica serves it itself (the WebSocket)
    protocol: Protocol
    scopes: frozenset[str] | None
    idempotent: bool
    deadline_ms: int
    max_body_bytes: int
    rate_class: RateClass

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.pattern[1:].split("/"))  # a trailing slash: an empty last one


def _route(name: str, method: str, pattern: str, service: Service, protocol: Protocol,
           scopes: tuple[str, ...] | None, *, idempotent: bool, deadline_ms: int,
           max_body_bytes: int = 0, rate_class: RateClass) -> Route:  # fmt: skip
    needed = None if scopes is None else frozenset(scopes)
    return Route(name, method, pattern, service, protocol, needed, idempotent, deadline_ms,
                 max_body_bytes, rate_class)  # fmt: skip


ROUTES: tuple[Route, ...] = (
    _route("auth.token", "POST", "/auth/token", "auth", "http", None,
           idempotent=False, deadline_ms=1_000, max_body_bytes=1 * KIB, rate_class="token"),
    _route("auth.jwks", "GET", "/auth/jwks.json", "auth", "http", None,
           idempotent=True, deadline_ms=1_000, rate_class="read"),
    _route("auth.rotate", "POST", "/auth/keys/rotate", "auth", "http", (ADMIN,),
           idempotent=False, deadline_ms=2_000, max_body_bytes=1 * KIB, rate_class="admin"),
    _route("auth.revoke", "POST", "/auth/tokens/revoke", "auth", "http", (ADMIN,),
           idempotent=True, deadline_ms=1_000, max_body_bytes=4 * KIB, rate_class="admin"),
    _route("auth.expire_all", "POST", "/auth/tokens/expire-all", "auth", "http", (ADMIN,),
           idempotent=True, deadline_ms=1_000, max_body_bytes=1 * KIB, rate_class="admin"),
    _route("catalog.list", "GET", "/catalog/auctions", "catalog", "http", (READ,),
           idempotent=True, deadline_ms=1_500, rate_class="read"),
    _route("catalog.get", "GET", "/catalog/auctions/<id>", "catalog", "http", (READ,),
           idempotent=True, deadline_ms=1_000, rate_class="read"),
    # A bid is not retried: the first replica may have taken it before its answer was lost.
    _route("bidding.place", "POST", "/auctions/<id>/bids", "bidding", "grpc", (BID,),
           idempotent=False, deadline_ms=800, max_body_bytes=1 * KIB, rate_class="bid"),
    # The socket's deadline: how long its first message has to bring the token.
    _route("ws.auction", "GET", "/ws/auctions/<id>/", "gateway", "websocket", (WATCH,),
           idempotent=False, deadline_ms=5_000, rate_class="watch"),
)  # fmt: skip


class Match(NamedTuple):
    route: Route
    params: dict[str, str]


class NoRoute(NamedTuple):
    """No route: 404 when no pattern fits the path, 405 (with `allow`) when one fits but
    not with this method."""

    status: Literal[404, 405]
    allow: tuple[str, ...] = ()

    def denial(self, path: str) -> Denial:
        if self.status == 405:
            return answers.method_not_allowed(self.allow)
        return answers.not_found(path)


def _params(pattern: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    """The path's parameters if its segments fit the pattern's, else None."""
    if len(pattern) != len(parts):
        return None
    params = {}
    for want, got in zip(pattern, parts, strict=True):
        if want.startswith("<") and want.endswith(">"):
            if not ID.fullmatch(got):
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


def _split(path: str) -> list[str] | None:
    """A path's segments, keeping a trailing slash as an empty last segment; None when it
    cannot be one of ours (no leading slash, too long)."""
    if not path.startswith("/") or len(path) > MAX_PATH_CHARS:
        return None
    return path[1:].split("/")


def match(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> Match | NoRoute:
    """The route for a request's method and path (no query string): methods are case
    sensitive (RFC 9110 §9.1), paths exact, ids strict."""
    parts = _split(path)
    if parts is None:
        return NoRoute(404)
    allowed: list[str] = []
    for route in routes:
        params = _params(route.segments, parts)
        if params is None:
            continue
        if route.method == method:
            return Match(route, params)
        allowed.append(route.method)
    if allowed:
        return NoRoute(405, tuple(sorted(set(allowed))))
    return NoRoute(404)


def scopes_for(role: str) -> tuple[str, ...]:
    """The scopes a token of this role carries (KeyError for a role that is not one)."""
    return ROLE_SCOPES[role]


def authorise(route: Route, granted: frozenset[str] | None) -> Denial | None:
    """None when the token's scopes cover the route's; a 403 insufficient_scope otherwise.
    `granted` None (no token) is only for public routes: the gateway asks for a token (401)
    before it gets here."""
    if route.scopes is None:
        return None
    missing = route.scopes - (granted or frozenset())
    if not missing:
        return None
    return answers.insufficient_scope(
        route.scopes, f"{route.method} {route.pattern} needs the scope {' '.join(sorted(missing))}"
    )
