"""The decisions a gateway replica makes on a request, stage by stage, without I/O.

route match -> authenticate -> authorise -> rate limit -> dispatch -> response. Each stage
here takes what it needs (a header, the claims, the clock's readings) and says what it
decided; app.py does the I/O around them, and traces each stage with its time.
"""

import ipaddress
import json
import secrets
import time
from collections.abc import Callable
from typing import Literal, NamedTuple

from archviz.core import close_codes
from archviz.gateway import answers, limits, routes
from archviz.gateway.answers import Denial
from archviz.gateway.bearer import bearer_from_header
from archviz.gateway.bids import InvalidBid, check_request_id, parse_amount
from archviz.gateway.routes import Route
from archviz.gateway.signing_keys import KeysUnavailable
from archviz.gateway.tokens import LEEWAY_S, Claims, KeySet, Revocations, TokenError
from archviz.trace.events import TRACE_HEADER as TRACE_HEADER  # taken if valid, always answered
from archviz.trace.events import given_trace_id, new_trace_id

GATEWAY_HEADER = "X-Archviz-Gateway"  # the replica that answered
MAX_AFTER = 2**53  # a seq past this is no seq of ours (JavaScript's safe integers)

Failure = Literal["refused", "disconnected", "unavailable", "deadline"]


def trace_id(header: str | None) -> str:
    """The incoming trace id when it is one (8-64 letters, digits, - or _), else a new one:
    a balancer in front may have started the flow."""
    return given_trace_id(header) or new_trace_id()


def forwarded_for(value: str | None) -> str | None:
    """The last address of X-Forwarded-For (the one the nearest proxy added), if it is an
    IP address."""
    last = (value or "").rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


def client_address(peer: str | None, forwarded: str | None, *, lab_client: bool) -> str:
    """Who an anonymous request is, for its rate limit: the address a proxy of the lab's own
    (it proves itself with the lab client header) says it relays, else the peer's. Anyone
    else's X-Forwarded-For is ignored: it would pick its own bucket."""
    if lab_client and (relayed := forwarded_for(forwarded)):
        return relayed
    return peer or "unknown"


# --- time ------------------------------------------------------------------------------


class Timeline:
    """A request's time, split as operators of gateways split it: in the gateway, and
    upstream (waiting for services). `lap()` times one stage."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.started = self._last = clock()
        self.upstream_ms = 0.0

    def lap(self) -> float:
        """The ms since the previous lap (or the start)."""
        now = self._clock()
        elapsed, self._last = (now - self._last) * 1000, now
        return elapsed

    def waited(self, ms: float) -> None:
        """`ms` of the current stage were spent waiting for a service."""
        self.upstream_ms += ms

    def total_ms(self) -> float:
        return (self._clock() - self.started) * 1000

    def gateway_ms(self) -> float:
        return max(0.0, self.total_ms() - self.upstream_ms)


def server_timing(gateway_ms: float, upstream_ms: float | None) -> str:
    """The Server-Timing header (W3C Server Timing): `gateway;dur=0.41, upstream;dur=2.3`;
    no upstream entry when no service was asked."""
    entries = [f"gateway;dur={gateway_ms:.2f}"]
    if upstream_ms is not None:
        entries.append(f"upstream;dur={upstream_ms:.2f}")
    return ", ".join(entries)


# --- route, authenticate, authorise ----------------------------------------------------


def body_too_large(route: Route, content_length: int | None) -> Denial | None:
    """413 when the declared body is over the route's limit (a body without a declared
    length is counted as it is read)."""
    if content_length is not None and content_length > route.max_body_bytes:
        return answers.body_too_large(route.max_body_bytes)
    return None


class Authenticated(NamedTuple):
    """The authenticate stage's outcome: claims (None on a public route or a refusal), the
    denial if refused, and the token's error code ("" when none)."""

    claims: Claims | None
    denial: Denial | None = None
    error: str = ""


PUBLIC = Authenticated(None)


def authenticate(
    route: Route, authorization: str | None, verify: Callable[[str], Claims]
) -> Authenticated:
    """A route with scopes needs a Bearer token that `verify` accepts; a public one none
    (a token sent to it is not looked at)."""
    if route.scopes is None:
        return PUBLIC
    try:
        return Authenticated(verify(bearer_from_header(authorization)))
    except TokenError as refused:
        return Authenticated(
            None, answers.unauthorized(refused.error, refused.message), refused.error
        )
    except KeysUnavailable as stale:
        message = f"this gateway cannot verify tokens now: {stale}"
        return Authenticated(None, answers.service_unavailable("auth", message), "keys_unavailable")


def authorise(route: Route, claims: Claims | None) -> Denial | None:
    """403 when the token's scopes do not cover the route's."""
    granted = None if claims is None else frozenset(claims["scope"].split())
    return routes.authorise(route, granted)


def consumer(claims: Claims | None, address: str) -> str:
    """Whose bucket the request draws from: the token's subject, else the address."""
    return limits.consumer(None if claims is None else claims["sub"], address)


# --- dispatch --------------------------------------------------------------------------


def may_retry(route: Route, failure: Failure, *, attempts: int, has_request_id: bool) -> bool:
    """Whether a failed attempt may be tried once more on another replica: never after two
    attempts or past the deadline; always when the connection was refused (nothing was
    sent); otherwise only if the route is idempotent or the request names itself (a bid's
    request id: the bidding service answers a retried id with its first result)."""
    if attempts >= 2 or failure == "deadline":
        return False
    if failure == "refused":
        return True
    return route.idempotent or has_request_id


class BidRequest(NamedTuple):
    amount_cents: int
    request_id: str


def parse_bid(body: bytes) -> BidRequest:
    """`{"amount": 12.5, "request_id"?: "..."}`, checked (bids.InvalidBid says why). A bid
    without a request id gets one, so that the gateway may retry it safely."""
    try:
        asked = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidBid('the body is not JSON: send {"amount": 12.50}') from None
    if not isinstance(asked, dict) or "amount" not in asked:
        raise InvalidBid('send {"amount": 12.50}')
    if unknown := set(asked) - {"amount", "request_id"}:
        raise InvalidBid(f"unknown field {sorted(unknown)[0][:40]!r}")
    request_id = asked.get("request_id", "")
    if not isinstance(request_id, str) or not request_id:
        if "request_id" in asked:
            raise InvalidBid("request id must be 1 to 64 letters, digits or ._:-")
        request_id = "gw-" + secrets.token_hex(12)
    return BidRequest(parse_amount(asked["amount"]), check_request_id(request_id))


def verdict(status: int) -> str:
    """How a request is counted: "ok" for an answer below 400, else its status."""
    return "ok" if status < 400 else str(status)


# --- the WebSocket ----------------------------------------------------------------------


def parse_after(value: str | None) -> int | None:
    """The `after` query parameter: the last seq a reconnecting watcher saw (None: a new
    watcher). ValueError when it is not a whole number from 0."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 16 or int(value) > MAX_AFTER:
        raise ValueError(f"after must be a whole number from 0 (the last seq seen): {value[:20]!r}")
    return int(value)


class Ended(NamedTuple):
    """Why an open watcher's token no longer holds, and the close code that says it."""

    code: int
    error: str
    message: str


def token_ended(
    claims: Claims, kid: str, keys: KeySet | None, revocations: Revocations, now: float
) -> Ended | None:
    """Whether an open socket's token still holds at `now`: expired by itself (TOKEN_EXPIRED),
    or taken back by an instructor: revoked, every token expired, its key retired
    (TOKEN_REVOKED). None while it holds."""
    if now - LEEWAY_S >= claims["exp"]:
        return Ended(close_codes.TOKEN_EXPIRED, "expired", "the token expired")
    if refusal := revocations.refusal(claims):
        return Ended(close_codes.TOKEN_REVOKED, refusal.error, refusal.message)
    if keys is not None and keys.find(kid, now) is None:
        return Ended(close_codes.TOKEN_REVOKED, "unknown_key", "the token's key was retired")
    return None
