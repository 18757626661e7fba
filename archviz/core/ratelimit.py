"""Token buckets: one per connection in a process (pure: the caller passes the time), and
shared ones in Redis that every process of the lab draws from (one Lua step)."""

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

import redis
import redis.asyncio
from redis.commands.core import AsyncScript, Script


class TokenBucket:
    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last: float | None = None

    def take(self, now: float) -> bool:
        """Spend one token if there is one; refill at `rate` per second up to `burst`."""
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class KeyedBuckets:
    """A TokenBucket per key (a client's address, say), so that one client's flood spends
    only its own tokens. At most `max_keys` are kept: past that the one used longest ago
    is forgotten (a new bucket starts full, so forgetting lets a client in sooner, never
    later, and the memory stays bounded)."""

    def __init__(self, *, rate: float, burst: int, max_keys: int = 1024) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str, now: float) -> bool:
        bucket = self._buckets.pop(key, None) or TokenBucket(rate=self.rate, burst=self.burst)
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)


class Limit(NamedTuple):
    """A bucket in Redis: `rate` tokens a second, holding at most `burst`."""

    key: str
    rate: float
    burst: int


class Refusal(NamedTuple):
    """The bucket that was short, and when it will hold enough."""

    limit: Limit
    retry_after_s: float


# Take n tokens from every bucket or from none (all of them are checked first). Each bucket
# is a hash {tokens, ts}, refilled for the time since `ts` (Redis's own clock, the same for
# every process, unless a test passes the time) and expiring once it would be full again.
# Returns {0, 0, level of each bucket after the take} (as strings: Redis would cut a Lua
# number to an integer), or the 1-based index of the first bucket short and the ms to wait.
_TAKE = """
local n = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local levels = {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
  end
  if tokens < n then
    return {i, math.ceil((n - tokens) * 1000 / rate)}
  end
  levels[i] = tokens
end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('HSET', key, 'tokens', tostring(levels[i] - n), 'ts', now)
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
  levels[i] = tostring(levels[i] - n)
end
return {0, 0, unpack(levels)}
"""
_script: Script | None = None
_async_script: AsyncScript | None = None


def _args(limits: Sequence[Limit], n: int, now_ms: float | None) -> list[float | str]:
    args: list[float | str] = [n, "" if now_ms is None else now_ms]
    for limit in limits:
        args += [limit.rate, limit.burst]
    return args


def _taken(limits: Sequence[Limit], reply: list[Any]) -> Refusal | list[float]:
    """The script's reply: the refusal, or each bucket's level after the take."""
    short, wait_ms, *levels = reply
    if short:
        return Refusal(limits[int(short) - 1], int(wait_ms) / 1000)
    return [float(level) for level in levels]


def take_shared(
    client: redis.Redis, limits: Sequence[Limit], n: int = 1, *, now_ms: float | None = None
) -> Refusal | None:
    """Take `n` tokens from each bucket in Redis, all or none: None if taken, else the
    first bucket that is short. A bucket must hold at least `n` (burst >= n) ever to pass."""
    taken = take_and_level(client, limits, n, now_ms=now_ms)
    return taken if isinstance(taken, Refusal) else None


def take_and_level(
    client: redis.Redis, limits: Sequence[Limit], n: int = 1, *, now_ms: float | None = None
) -> Refusal | list[float]:
    """take_shared, answering each bucket's level after the take when taken (what a
    RateLimit header reports as remaining): one round trip."""
    global _script
    if _script is None:  # loaded once, then run by its SHA with whichever client
        _script = client.register_script(_TAKE)
    keys = [limit.key for limit in limits]
    return _taken(limits, _script(keys=keys, args=_args(limits, n, now_ms), client=client))


async def take_and_level_async(
    client: redis.asyncio.Redis,
    limits: Sequence[Limit],
    n: int = 1,
    *,
    now_ms: float | None = None,
) -> Refusal | list[float]:
    """take_and_level on the event loop (the gateway's hot path: no thread, one EVALSHA)."""
    global _async_script
    if _async_script is None:
        _async_script = client.register_script(_TAKE)
    keys = [limit.key for limit in limits]
    reply = await _async_script(keys=keys, args=_args(limits, n, now_ms), client=client)
    return _taken(limits, reply)


def level_shared(client: redis.Redis, limit: Limit, *, now_ms: float | None = None) -> float:
    """The tokens a bucket in Redis holds now, refilled as take_shared would (a read only):
    what a RateLimit header reports as remaining."""
    pipe = client.pipeline(transaction=False)
    pipe.hmget(limit.key, "tokens", "ts")
    if now_ms is None:
        pipe.time()
    found = pipe.execute()
    tokens, ts = found[0]
    if tokens is None or ts is None:
        return float(limit.burst)
    if now_ms is None:
        seconds, micros = found[1]
        now_ms = seconds * 1000 + micros // 1000
    return min(limit.burst, float(tokens) + max(0.0, now_ms - float(ts)) * limit.rate / 1000)
