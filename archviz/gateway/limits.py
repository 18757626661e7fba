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

Live policies: POLICIES are the defaults. An instructor tightens (or loosens) a class live;
the override is one field of a hash in Redis (keys.LIMIT_POLICIES), which every gateway
replica re-reads about every FOLLOW_S (edge/policies.py), so a change applies on both
within a second, and the headers report the policy in force. Whoever has checked that the
caller is an instructor writes it, with `set_policy` / `reset_policies`: the dashboard's
lab-socket handler directly, or a gateway replica carrying out the `gateway.limit` control
command (control.py; each replica writes the same value, so a command applies while one is
down). Nothing else holds the policy: a replica that starts reads the overrides too.
"""

import json
import logging
import math
from collections.abc import Mapping
from typing import NamedTuple

import redis
import redis.asyncio

from archviz.core.ratelimit import Limit, Refusal, take_and_level, take_and_level_async
from archviz.gateway import answers, keys
from archviz.gateway.answers import Denial
from archviz.gateway.routes import RateClass

log = logging.getLogger(__name__)

MAX_CONSUMER_CHARS = 64
MIN_RATE, MAX_RATE = 0.1, 1000.0  # tokens a second (an empty bucket refills within 10000 s)
MIN_BURST, MAX_BURST = 1, 1000
FOLLOW_S = 0.5  # how often a replica re-reads the overrides


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


def bucket(rate_class: RateClass, who: str, policy: Policy | None = None) -> Limit:
    policy = policy or POLICIES[rate_class]
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
    client: redis.Redis,
    rate_class: RateClass,
    who: str,
    *,
    policy: Policy | None = None,
    now_ms: float | None = None,
) -> Verdict:
    """Take one token from the consumer's bucket for this class of routes, under `policy`
    (the live one; the default when None). I/O: one round trip, the take answering the
    level left; redis.RedisError when Redis is unreachable. A bucket that holds more than a
    tightened burst is cut down to it at once (core.ratelimit's min)."""
    policy = policy or POLICIES[rate_class]
    taken = take_and_level(client, [bucket(rate_class, who, policy)], now_ms=now_ms)
    return _verdict(policy, taken)


async def check_async(
    client: redis.asyncio.Redis,
    rate_class: RateClass,
    who: str,
    *,
    policy: Policy | None = None,
    now_ms: float | None = None,
) -> Verdict:
    """check, on the event loop: the same bucket, the same script, the same verdict."""
    policy = policy or POLICIES[rate_class]
    taken = await take_and_level_async(client, [bucket(rate_class, who, policy)], now_ms=now_ms)
    return _verdict(policy, taken)


def _verdict(policy: Policy, taken: Refusal | list[float]) -> Verdict:
    if isinstance(taken, Refusal):
        return refused(policy, taken.retry_after_s)
    return allowed(policy, taken[0])


# --- live policies -----------------------------------------------------------------------


class InvalidPolicy(ValueError):
    """An override that is not one: the message says why."""


def override(name: object, rate: object, burst: object) -> Policy:
    """The policy `name` with this rate and burst, checked (pure): a class of POLICIES, a
    finite rate within [MIN_RATE, MAX_RATE], a whole burst within [MIN_BURST, MAX_BURST]."""
    if not isinstance(name, str) or name not in POLICIES:
        raise InvalidPolicy(f"unknown policy {name!r}; use one of {', '.join(POLICIES)}")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate):
        raise InvalidPolicy("rate must be a number")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidPolicy(f"rate must be from {MIN_RATE:g} to {MAX_RATE:g} a second")
    if isinstance(burst, bool) or not isinstance(burst, int):
        raise InvalidPolicy("burst must be a whole number")
    if not MIN_BURST <= burst <= MAX_BURST:
        raise InvalidPolicy(f"burst must be from {MIN_BURST} to {MAX_BURST}")
    return Policy(name, float(rate), burst)


def live(stored: Mapping[bytes, bytes]) -> dict[RateClass, Policy]:
    """Every class's policy in force: the defaults, overlaid with the stored overrides
    (pure). An override that does not parse is left out, and logged: the default holds."""
    policies = dict(POLICIES)
    for raw_name, raw in stored.items():
        name = raw_name.decode(errors="replace")
        try:
            fields = json.loads(raw)
            policies[name] = override(name, fields["rate"], fields["burst"])  # type: ignore[index]
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("gateway: ignored the stored %r rate limit policy: %s", name[:40], exc)
    return policies


def read_policies(client: redis.Redis) -> dict[RateClass, Policy]:
    """The policies in force (I/O: one HGETALL)."""
    return live(client.hgetall(keys.LIMIT_POLICIES))


def set_policy(client: redis.Redis, name: str, rate: float, burst: int) -> Policy:
    """Put `name` under this rate and burst on every replica (within about a second);
    InvalidPolicy for one out of range. The caller has checked it is an instructor."""
    policy = override(name, rate, burst)
    fields = json.dumps({"rate": policy.rate, "burst": policy.burst})
    client.hset(keys.LIMIT_POLICIES, name, fields)
    return policy


def reset_policies(client: redis.Redis, name: str | None = None) -> None:
    """Restore one class's default policy, or every class's (name None)."""
    if name is None:
        client.delete(keys.LIMIT_POLICIES)
        return
    if name not in POLICIES:
        raise InvalidPolicy(f"unknown policy {name!r}; use one of {', '.join(POLICIES)}")
    client.hdel(keys.LIMIT_POLICIES, name)
