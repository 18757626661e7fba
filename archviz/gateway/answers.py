"""The answers the gateway makes itself, as data: a denial never reaches a service.

Each is a status, its headers and a JSON body `{"error": ..., "message": ...}` (plus
`"service"` when one is to blame). 401 and 403 carry RFC 6750's `WWW-Authenticate: Bearer`
challenge: no error code when the request had no token at all (§3.1), `invalid_token` for
a token that is malformed, expired, revoked or otherwise unusable, `insufficient_scope`
with the `scope` the route needs. A gRPC status from a service becomes an HTTP one here.
"""

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import grpc

REALM = "archviz"
JSON = ("Content-Type", "application/json")
MAX_MESSAGE_CHARS = 200
# RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
_NOT_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


class Denial(NamedTuple):
    status: int
    headers: tuple[tuple[str, str], ...]
    body: dict[str, str]

    def header(self, name: str) -> str | None:
        """One header's value (names are case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json_bytes(self) -> bytes:
        return json.dumps(self.body).encode()


def _denial(status: int, error: str, message: str, *headers: tuple[str, str],
            service: str | None = None) -> Denial:  # fmt: skip
    body = {"error": error, "message": message[:MAX_MESSAGE_CHARS]}
    if service is not None:
        body["service"] = service
    return Denial(status, (JSON, *headers), body)


def _description(message: str) -> str:
    """A message fit for a quoted error_description: the forbidden characters replaced."""
    plain = message.replace('"', "'").replace("\\", "/")
    return _NOT_IN_DESCRIPTION.sub("?", plain)[:MAX_MESSAGE_CHARS]


def bearer_challenge(error: str | None = None, message: str = "", scope: str = "") -> str:
    """The WWW-Authenticate value: `Bearer realm="archviz"`, then the error's attributes."""
    parts = [f'Bearer realm="{REALM}"']
    if error is not None:
        parts.append(f'error="{error}"')
        if message:
            parts.append(f'error_description="{_description(message)}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return ", ".join(parts)


# --- 401, 403, 400: the token ------------------------------------------------------------


def unauthorized(error: str, message: str) -> Denial:
    """401 for a token refused (tokens.TokenError's `error` and message): `missing` gets
    the bare challenge, any other error `invalid_token`."""
    if error == "missing":
        challenge = bearer_challenge()
    else:
        challenge = bearer_challenge("invalid_token", message)
    return _denial(401, error, message, ("WWW-Authenticate", challenge))


def invalid_request(message: str) -> Denial:
    """400 for a request that offers its token wrongly (two tokens, in two places)."""
    challenge = bearer_challenge("invalid_request", message)
    return _denial(400, "invalid_request", message, ("WWW-Authenticate", challenge))


def insufficient_scope(needed: Iterable[str], message: str) -> Denial:
    """403: the token is good, its scopes do not cover the route (`needed`: all it needs)."""
    scope = " ".join(sorted(needed))
    challenge = bearer_challenge("insufficient_scope", message, scope)
    return _denial(403, "insufficient_scope", message, ("WWW-Authenticate", challenge))


# --- 429, 503, 504, 502: limits and services ----------------------------------------------


def retry_after(seconds: float) -> str:
    """Retry-After in whole seconds (RFC 9110 §10.2.3), rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


def too_many_requests(
    retry_after_s: float, rate_headers: Sequence[tuple[str, str]], message: str
) -> Denial:
    """429 with Retry-After and the RateLimit-Policy / RateLimit headers of the bucket."""
    return _denial(
        429, "rate_limited", message, ("Retry-After", retry_after(retry_after_s)), *rate_headers
    )


def service_unavailable(service: str, message: str = "") -> Denial:
    """503 naming the service none of whose replicas is healthy."""
    message = message or f"no healthy replica of the {service} service"
    return _denial(503, "service_unavailable", message, ("Retry-After", "1"), service=service)


def deadline_exceeded(service: str, deadline_ms: int) -> Denial:
    message = f"the {service} service did not answer within {deadline_ms} ms"
    return _denial(504, "deadline_exceeded", message, service=service)


def bad_gateway(service: str, message: str) -> Denial:
    return _denial(502, "bad_gateway", message, service=service)


# --- 404, 405, 413, 400: the request itself -----------------------------------------------


def not_found(path: str) -> Denial:
    return _denial(404, "not_found", f"no route for {path[:80]!r}")


def method_not_allowed(allow: Sequence[str]) -> Denial:
    methods = ", ".join(allow)
    return _denial(405, "method_not_allowed", f"use {methods}", ("Allow", methods))


def body_too_large(limit_bytes: int) -> Denial:
    return _denial(413, "body_too_large", f"the body is over {limit_bytes} bytes")


def bad_request(message: str) -> Denial:
    return _denial(400, "bad_request", message)


def forbidden_origin(origin: str) -> Denial:
    """403 for a page from an origin that is no registered dashboard's (CORS, WebSocket)."""
    message = f"origin {origin[:80]!r} is not a dashboard of this lab"
    return _denial(403, "origin_not_allowed", message)


# --- gRPC --------------------------------------------------------------------------------

_HTTP_FOR_GRPC = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,  # as google.rpc.Code maps it
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,  # a bid under the highest: a conflict
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def http_status_for(code: grpc.StatusCode) -> int:
    """The HTTP status for a service's gRPC status; 502 for the rest (CANCELLED, UNKNOWN,
    UNIMPLEMENTED, INTERNAL, DATA_LOSS): the service failed, not the client."""
    return _HTTP_FOR_GRPC.get(code, 502)


def from_grpc(code: grpc.StatusCode, details: str | None, service: str) -> Denial:
    """The answer for a service's non-OK gRPC status, its details as the message."""
    if code is grpc.StatusCode.OK:
        raise ValueError("OK is an answer to relay, not a denial")
    status = http_status_for(code)
    error = code.name.lower()
    message = details or f"the {service} service answered {code.name}"
    headers: list[tuple[str, str]] = []
    if status == 401:
        headers.append(("WWW-Authenticate", bearer_challenge("invalid_token", message)))
    elif status in (429, 503):
        headers.append(("Retry-After", "1"))
    return _denial(status, error, message, *headers, service=service)
