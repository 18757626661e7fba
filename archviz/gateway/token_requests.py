"""What `POST /auth/token` asks for, checked before the auth service signs anything:
`{"name": ..., "role": ..., "ttl_s"?: ...}`. Anyone may ask for a viewer's or a bidder's
token; only an instructor (as the auth service knows its caller) for another role."""

import json
from typing import Literal, NamedTuple

from archviz.gateway.routes import ROLE_SCOPES
from archviz.gateway.tokens import DEFAULT_TTL_S, MAX_TTL_S, MIN_TTL_S, NAME, is_number

SELF_SERVICE_ROLES = ("viewer", "bidder")  # anyone may ask for these; other roles: instructors
MAX_REQUEST_BYTES = 1_024


class TokenRequest(NamedTuple):
    name: str
    role: str
    ttl_s: float = DEFAULT_TTL_S


class TokenRequestRefused(Exception):
    """A token request the auth service refuses: 400 for a malformed one, 403 for a role
    the caller may not have."""

    def __init__(self, status: Literal[400, 403], message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_token_request(body: bytes, *, instructor: bool) -> TokenRequest:
    """`{"name": ..., "role": ..., "ttl_s"?: ...}` checked; only an instructor (as the auth
    service knows the caller) may ask for a role outside SELF_SERVICE_ROLES."""
    request = _json_object(body)
    if unknown := set(request) - {"name", "role", "ttl_s"}:
        raise TokenRequestRefused(400, f"unknown field {sorted(unknown)[0][:40]!r}")
    name, role, ttl_s = request.get("name"), request.get("role"), request.get("ttl_s")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise TokenRequestRefused(400, "name must be 1-40 letters, digits, space, _ . or -")
    if not isinstance(role, str) or role not in ROLE_SCOPES:
        raise TokenRequestRefused(400, f"role must be one of {', '.join(ROLE_SCOPES)}")
    if role not in SELF_SERVICE_ROLES and not instructor:
        raise TokenRequestRefused(403, f"only an instructor may ask for the role {role}")
    if ttl_s is None:
        return TokenRequest(name, role)
    if not is_number(ttl_s) or not MIN_TTL_S <= ttl_s <= MAX_TTL_S:  # type: ignore[operator]
        raise TokenRequestRefused(400, f"ttl_s must be {MIN_TTL_S} to {MAX_TTL_S} seconds")
    return TokenRequest(name, role, float(ttl_s))  # type: ignore[arg-type]


def _json_object(body: bytes) -> dict[str, object]:
    if len(body) > MAX_REQUEST_BYTES:
        raise TokenRequestRefused(400, f"the body is over {MAX_REQUEST_BYTES} bytes")
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TokenRequestRefused(400, "the body is not JSON") from None
    if not isinstance(request, dict):
        raise TokenRequestRefused(400, "the body is not a JSON object")
    return request
