"""Streams capped by size, not by count: Redis trims streams only by length or id, so the
cap is kept by measuring (MEMORY USAGE) and trimming the oldest entries in proportion.

The cap is checked at most once a second per stream and process, and trimmed to 90 % of it,
so that a stream rarely passes its cap by more than a second's worth of entries.
"""

import time

import redis

TRIM_TO = 0.9  # of the cap, so that the next check does not trim again at once
CHECK_EVERY_S = 1.0


def trim_to_bytes(client: redis.Redis, key: str, max_bytes: int) -> int:
    """Trim stream `key` (oldest first) until Redis counts it under `max_bytes`; returns
    how many entries were trimmed."""
    pipe = client.pipeline(transaction=False)
    pipe.memory_usage(key, samples=0)
    pipe.xlen(key)
    used, length = pipe.execute()
    if not used or used <= max_bytes or length == 0:
        return 0
    keep = max(1, int(length * max_bytes * TRIM_TO / used))
    return client.xtrim(key, maxlen=keep, approximate=False)


class SizeCap:
    """Trims a stream to its byte cap, at most once every CHECK_EVERY_S (a clock is given)."""

    def __init__(self, key: str, max_bytes: int, clock=time.monotonic) -> None:
        self.key = key
        self.max_bytes = max_bytes
        self._clock = clock
        self._checked = float("-inf")

    def maybe_trim(self, client: redis.Redis) -> int:
        now = self._clock()
        if now - self._checked < CHECK_EVERY_S:
            return 0
        self._checked = now
        return trim_to_bytes(client, self.key, self.max_bytes)
