"""The key ring this replica verifies tokens with: a signing_keys.KeyFollower, re-read off
the event loop every half second, at once after a KEYS_CHANGED notice (the watchers' pub/sub
connection hears it), and once more when a token names a key it does not know yet (a
rotation a moment ago), at most FORCED_PER_S times a second in all, so that made-up kids
cannot make it read Redis on every request.

After every tick (CHECK_S) the listeners run: the open sockets check that their tokens
still hold, so a revoked or expired one is closed within about a second.
"""

import asyncio
import logging
import time
from collections.abc import Callable

import redis

from archviz.core.ratelimit import TokenBucket
from archviz.core.redis_conn import shared_client
from archviz.gateway.signing_keys import KeyFollower
from archviz.gateway.tokens import Claims, TokenError

log = logging.getLogger(__name__)

CHECK_S = 0.25  # how often open sockets check their tokens
FORCED_PER_S = 10


class Credentials:
    def __init__(
        self,
        client: Callable[[], redis.Redis] = shared_client,
        follower: KeyFollower | None = None,
        *,
        clock: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self.follower = follower or KeyFollower()
        self._client = client
        self._clock = clock
        self._mono = mono
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._forced = TokenBucket(rate=FORCED_PER_S, burst=FORCED_PER_S)
        self._listeners: list[Callable[[], None]] = []
        self._failing = False

    def on_tick(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def now(self) -> float:
        return self._clock()

    def notice(self) -> None:
        """The ring changed (a KEYS_CHANGED message): re-read it now."""
        self.follower.mark_stale()
        self.wake()

    def wake(self) -> None:
        """Run the next tick now (after `stop` is set: end the loop at once)."""
        self._wake.set()

    def verify(self, token: str) -> Claims:
        """tokens.verify with this replica's copy (TokenError, or KeysUnavailable)."""
        return self.follower.verify(token, now=self._clock(), mono=self._mono())

    async def verify_fresh(self, token: str) -> Claims:
        """verify, re-reading the ring once first if the token's key is unknown to it."""
        try:
            return self.verify(token)
        except TokenError as refused:
            if refused.error != "unknown_key" or not await self.forced_refresh():
                raise
        return self.verify(token)

    async def forced_refresh(self) -> bool:
        """Re-read the ring now, unless that was asked too often (FORCED_PER_S)."""
        if not self._forced.take(self._mono()):
            return False
        return await self.refresh(force=True)

    async def refresh(self, *, force: bool = False) -> bool:
        """Re-read the ring if due, or `force`d (off the loop, one read at a time: a read
        under way when forced may have begun before the change); whether it was read."""
        async with self._lock:
            if force:
                self.follower.mark_stale()
            if not self.follower.due(self._mono()):
                return False
            taken = await asyncio.to_thread(
                self.follower.refresh, self._client(), self._mono(), self._clock()
            )
        self._log_health()
        return taken

    def _log_health(self) -> None:
        failing = bool(self.follower.error)
        if failing and not self._failing:
            log.warning("gateway: the key ring could not be read: %s", self.follower.error)
        self._failing = failing

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh when due or woken, and run the listeners every tick, until `stop`."""
        while not stop.is_set():
            self._wake.clear()
            await self.refresh()
            for listener in self._listeners:
                listener()
            try:
                async with asyncio.timeout(CHECK_S):
                    await self._wake.wait()
            except TimeoutError:
                pass
