"""The instructors' routes of the auth service: rotate the signing key, revoke a token,
expire every token. Each change is announced on keys.KEYS_CHANGED (signing_keys does it),
so every gateway replica's KeyFollower re-reads the ring at once.

    POST /auth/keys/rotate        {"grace_s"?: 0-900}: a new key; the old one verifies for
                                  the grace (0: refused at once, as after a leak)
    POST /auth/tokens/revoke      {"jti": ...} and/or {"token": ...}: refuse that token
    POST /auth/tokens/expire-all  {}: refuse every token issued before now

The gateway routes these here only for a token with the instructor's scope. The service
checks that again itself, from the same key ring: services must each check for themselves,
since whoever reaches a service directly (the "bypass" demo) has not been through the
gateway, and a gateway that is wrong once must not be the only lock.
"""

import json
from typing import Any

import jwt
import redis
from aiohttp import web

from archviz.gateway import answers, keys, signing_keys, tokens
from archviz.gateway.auth_http import (
    CLOCK,
    COUNTS,
    SERVICE,
    Refused,
    emit,
    in_thread,
    json_response,
    read_body,
    refusal,
)
from archviz.gateway.bearer import bearer_from_header
from archviz.gateway.routes import Route, authorise
from archviz.gateway.signing_keys import RevocationRefused
from archviz.gateway.tokens import Claims, SigningKey, TokenError


async def instructor_claims(request: web.Request, route: Route) -> Claims:
    """The caller's claims, if its bearer token verifies against the ring in Redis (read now,
    not cached: these requests are rare and must see the latest revocation) and its scopes
    cover the route's; else 401, 403, or 503 for a ring that cannot be read."""
    try:
        token = bearer_from_header(request.headers.get("Authorization"))
    except TokenError as exc:
        raise Refused(answers.unauthorized(exc.error, exc.message)) from None
    now = request.app[CLOCK]()
    snapshot = await in_thread(request, signing_keys.read_snapshot, now)
    try:
        key_set = signing_keys.key_set(snapshot.records)
        revoked = signing_keys.revocations(snapshot.revoked, snapshot.expired_before)
    except ValueError as exc:
        message = f"the key ring is unreadable: {exc}"
        raise Refused(answers.service_unavailable(SERVICE, message)) from None
    try:
        claims = tokens.verify(token, key_set, now=now, revocations=revoked)
    except TokenError as exc:
        raise Refused(answers.unauthorized(exc.error, exc.message)) from None
    if denial := authorise(route, tokens.granted_scopes(claims)):
        raise Refused(denial)
    return claims


def json_object(body: bytes, fields: frozenset[str]) -> dict[str, Any]:
    """The body as a JSON object with only these fields; an empty body is {} (pure)."""
    if not body.strip():
        return {}
    try:
        found = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(refusal(400, "bad_request", "the body is not JSON")) from None
    if not isinstance(found, dict):
        raise Refused(refusal(400, "bad_request", "the body is not a JSON object"))
    if unknown := set(found) - fields:
        raise Refused(refusal(400, "bad_request", f"unknown field {sorted(unknown)[0][:40]!r}"))
    return found


# --- POST /auth/keys/rotate ---------------------------------------------------------------------


def grace_from(asked: dict[str, Any]) -> float:
    """The grace asked for, 0 to the longest a token lives (pure)."""
    grace = asked.get("grace_s", signing_keys.GRACE_S)
    if not tokens.is_number(grace) or not 0 <= grace <= tokens.MAX_TTL_S:
        message = f"grace_s must be 0 to {tokens.MAX_TTL_S} seconds"
        raise Refused(refusal(400, "bad_request", message))
    return float(grace)


async def rotate(request: web.Request, route: Route) -> web.Response:
    claims = await instructor_claims(request, route)
    grace_s = grace_from(json_object(await read_body(request, route), frozenset({"grace_s"})))
    now = request.app[CLOCK]()
    key, previous = await in_thread(request, _rotate, now, grace_s)
    request.app[COUNTS].act("rotate")
    emit(request, "auth.rotate", "redis", kid=key.kid, previous=previous or "", grace_s=grace_s,
         by=claims["sub"])  # fmt: skip
    retire_at = now + grace_s if previous else None
    return json_response(request, {"kid": key.kid, "previous": previous, "retire_at": retire_at})


def _rotate(client: redis.Redis, now: float, grace_s: float) -> tuple[SigningKey, str | None]:
    previous = client.get(keys.SIGNING_CURRENT)
    key = signing_keys.rotate(client, now, grace_s)
    return key, previous.decode(errors="replace") if previous else None


# --- POST /auth/tokens/revoke -------------------------------------------------------------------


def revocation_from(asked: dict[str, Any]) -> tuple[str, float | None]:
    """The token id to revoke and its expiry if known, from {"jti"} and/or {"token"} (pure):
    the token is read, not verified (it may be expired or signed by a retired key; revoking
    its id is harmless either way)."""
    jti, token = asked.get("jti"), asked.get("token")
    if jti is None and token is None:
        raise Refused(refusal(400, "bad_request", 'give the token\'s "jti" or the "token"'))
    exp = None
    if token is not None:
        claims = _unverified_claims(token)
        if jti is not None and jti != claims.get("jti"):
            raise Refused(refusal(400, "bad_request", "the jti is not the token's"))
        jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str) or not tokens.JTI.fullmatch(jti):
        raise Refused(refusal(400, "bad_request", "a token id is 16-64 letters, digits, _ or -"))
    return jti, float(exp) if tokens.is_number(exp) else None


def _unverified_claims(token: object) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > tokens.MAX_TOKEN_CHARS:
        raise Refused(refusal(400, "bad_request", "the token is not one of ours"))
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Refused(refusal(400, "bad_request", "the token is not a JWT")) from None
    return claims if isinstance(claims, dict) else {}


async def revoke(request: web.Request, route: Route) -> web.Response:
    claims = await instructor_claims(request, route)
    asked = json_object(await read_body(request, route), frozenset({"jti", "token"}))
    jti, exp = revocation_from(asked)
    try:
        await in_thread(request, signing_keys.revoke, jti, request.app[CLOCK](), exp)
    except RevocationRefused as exc:
        raise Refused(refusal(409, "revocation_refused", str(exc))) from None
    request.app[COUNTS].act("revoke")
    emit(request, "auth.revoke", "redis", jti=jti[:8], by=claims["sub"])
    return json_response(request, {"revoked": jti})


# --- POST /auth/tokens/expire-all ---------------------------------------------------------------


async def expire_all(request: web.Request, route: Route) -> web.Response:
    claims = await instructor_claims(request, route)
    json_object(await read_body(request, route), frozenset())
    now = request.app[CLOCK]()
    await in_thread(request, signing_keys.expire_all, now)
    request.app[COUNTS].act("expire_all")
    emit(request, "auth.expire_all", "redis", before=now, by=claims["sub"])
    return json_response(request, {"expired_before": now})


HANDLERS = {"auth.rotate": rotate, "auth.revoke": revoke, "auth.expire_all": expire_all}
