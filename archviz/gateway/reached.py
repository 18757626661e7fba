"""What reached a service, by the token it carried: counted, never refused.

Behind the gateway a service only ever sees requests whose token the gateway verified.
Straight through a plain load balancer (its services listener, the side by side of issue
11) it gets whatever a client sends, and must check for itself; the catalog does not
refuse (that is the lesson: the numbers show what would have got in), it classifies each
request's token with tokens.verify against the key ring in Redis, as the gateway does:

    none       no token (no Authorization, or another scheme than Bearer)
    valid      signed by a key of the ring, in date, for the gateway, not revoked
    expired    past its exp (or issued before an instructor expired every token)
    forged     not signed by the ring: a bad signature, alg none, a key not ours
    malformed  not a token at all
    other      a real token refused for another reason: revoked, another audience, not
               yet valid
    unchecked  the ring could not be read (Redis away): nothing can be said

A key rotated in a moment ago is "forged" until the next read of the ring (REFRESH_S).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import redis
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from archviz.gateway import signing_keys
from archviz.gateway.bearer import bearer_from_header
from archviz.gateway.signing_keys import KeyFollower, KeysUnavailable
from archviz.gateway.tokens import Claims, ErrorCode, TokenError

log = logging.getLogger(__name__)

CLASSES = ("none", "valid", "expired", "forged", "malformed", "other", "unchecked")
_CLASS_OF: dict[ErrorCode, str] = {
    "missing": "none",
    "expired": "expired",
    "bad_signature": "forged",
    "alg_none": "forged",
    "unknown_key": "forged",
    "malformed": "malformed",
    "revoked": "other",
    "wrong_audience": "other",
    "not_yet_valid": "other",
}
REFRESH_S = signing_keys.REFRESH_S


def classify(authorization: str | None, verify: Callable[[str], Claims]) -> str:
    """The class of a request's Authorization header (pure but for `verify`)."""
    try:
        verify(bearer_from_header(authorization))
    except TokenError as refused:
        return _CLASS_OF.get(refused.error, "other")
    except KeysUnavailable:
        return "unchecked"
    return "valid"


class TokenCensus:
    """One service replica's counts by class, and its copy of the key ring."""

    def __init__(self, follower: KeyFollower | None = None) -> None:
        self.follower = follower or KeyFollower()
        self.counts = dict.fromkeys(CLASSES, 0)

    def verify(self, token: str) -> Claims:
        return self.follower.verify(token, now=time.time(), mono=time.monotonic())

    def count(self, authorization: str | None) -> str:
        found = classify(authorization, self.verify)
        self.counts[found] += 1
        return found

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)

    async def refresh(self, client: redis.Redis) -> None:
        await asyncio.to_thread(self.follower.refresh, client, time.monotonic(), time.time())

    async def run(self, client: Callable[[], redis.Redis], stop: asyncio.Event) -> None:
        """Re-read the ring every REFRESH_S until `stop` is set (a bad read keeps the last)."""
        while not stop.is_set():
            await self.refresh(client())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REFRESH_S):
                    await stop.wait()


def middleware(census: TokenCensus, *, skip: frozenset[str]) -> Middleware:
    """aiohttp middleware: every request counted by its token, but those to `skip` (the
    balancer's health checks)."""

    @web.middleware
    async def counted(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in skip:
            census.count(request.headers.get("Authorization"))
        return await handler(request)

    return counted
