"""The gateway's rate limits: a token bucket per consumer (the token's sub, or the client's
address when anonymous) per class of routes, in Redis (archviz.core.ratelimit), so both
gateway replicas draw from one bucket. And the numbers its headers report.

The headers are those of draft-ietf-httpapi-ratelimit-headers-11 (May 2026): a policy
`RateLimit-Policy: "bid";q=6;w=3` and the service limit `RateLimit: "bid";r=2;t=1`.
A token bucket maps onto them so: q is the burst (what the bucket holds) and w the whole
seconds an empty bucket takes to fill, so q per w is the sustained rate; r is the whole
tokens left; t is the seconds until one more token is in (0 when the bucket is full). So
within t a client can use no more than r, which is the draft's effective window (§4.1.2);
on a refusal t is Retry-After, never earlier (§6).
"""

import math
from typing import NamedTuple

import redis

from archviz.core.ratelimit import Limit, level_shared, take_shared
from archviz.gateway import answers, keys
from archviz.gateway.answers import Denial
from archviz.gateway.routes import RateClass

MAX_CONSUMER_CHARS = 64


class Policy(NamedTuple):
    """`rate` requests a second per consumer, `burst` at once; the name is a plain
    structured-field string (lower case letters, digits, -), quoted as it is."""

    name: str
    rate: float
    burst: int

    @property
    def window_s(self) -> int:
        return max(1, math.ceil(self.burst / self.rate))

    def header(self) -> str:
        return f'"{self.name}";q={self.burst};w={self.window_s}'


POLICIES: dict[RateClass, Policy] = {
    "token": Policy("token", 1, 5),  # asking for tokens (anonymous: per address)
    "read": Policy("read", 10, 20),
    "watch": Policy("watch", 1, 5),  # opening auction sockets
    "bid": Policy("bid", 2, 6),
    "admin": Policy("admin", 1, 5),
}


def consumer(sub: str | None, address: str) -> str:
    """Whose bucket a request draws from: its token's subject, else its client's address."""
    who = f"user:{sub}" if sub else f"address:{address or 'unknown'}"
    return who[:MAX_CONSUMER_CHARS]


def bucket(rate_class: RateClass, who: str) -> Limit:
    policy = POLICIES[rate_class]
    return Limit(keys.rate_bucket(rate_class, who), policy.rate, policy.burst)


class Verdict(NamedTuple):
    """A request counted against its bucket: whether it passes, and the header numbers."""

    allowed: bool
    policy: Policy
    remaining: int  # r
    reset_s: int  # t
    retry_after_s: float  # 0.0 when allowed

    def headers(self) -> list[tuple[str, str]]:
        """RateLimit-Policy and RateLimit, for every answer of a limited route."""
        limit = f'"{self.policy.name}";r={self.remaining};t={self.reset_s}'
        return [("RateLimit-Policy", self.policy.header()), ("RateLimit", limit)]

    def denial(self) -> Denial:
        """The 429 for a refused request, with Retry-After and the headers."""
        p = self.policy
        message = (f"too many {p.name} requests: at most {p.rate:g} a second ({p.burst} at "
                   f"once); try again in {self.retry_after_s:.1f} s")  # fmt: skip
        return answers.too_many_requests(self.retry_after_s, self.headers(), message)


def allowed(policy: Policy, level: float) -> Verdict:
    """The verdict for a request that was let through, the bucket holding `level` after it."""
    remaining = max(0, math.floor(level))
    if remaining >= policy.burst:
        return Verdict(True, policy, policy.burst, 0, 0.0)
    next_token_s = (remaining + 1 - level) / policy.rate
    return Verdict(True, policy, remaining, math.ceil(next_token_s), 0.0)


def refused(policy: Policy, retry_after_s: float) -> Verdict:
    """The verdict for a request refused until `retry_after_s`: nothing left, t = Retry-After."""
    return Verdict(False, policy, 0, int(answers.retry_after(retry_after_s)), retry_after_s)


def check(
    client: redis.Redis, rate_class: RateClass, who: str, *, now_ms: float | None = None
) -> Verdict:
    """Take one token from the consumer's bucket for this class of routes (I/O: two round
    trips, the take then the level). redis.RedisError when Redis is unreachable."""
    policy, limit = POLICIES[rate_class], bucket(rate_class, who)
    refusal = take_shared(client, [limit], now_ms=now_ms)
    if refusal is not None:
        return refused(policy, refusal.retry_after_s)
    return allowed(policy, level_shared(client, limit, now_ms=now_ms))
